import { DomainError } from '../src';
import {
  CYCLE_LINK_INVERSE,
  LearningCycleCommand,
  LearningCycleEvent,
  learningCycle,
  learningCycleStream,
  linksOf,
  scaleOfCycleEvent,
} from '../src/learning-cycles/learning-cycle';
import {
  TeamReflectionCommand,
  TeamReflectionEvent,
  teamReflection,
  teamReflectionStream,
} from '../src/learning-cycles/team-reflection';
import { given } from './given-when-then';

const at = '2026-11-20T10:00:00.000Z';
const later = '2026-12-04T10:00:00.000Z';
const cycleId = 'lc-1';

type Cmd<T extends LearningCycleCommand['type']> = Extract<LearningCycleCommand, { type: T }>;

/** The events a run of accepted commands leaves behind: a longer history, built by the decider itself. */
function historyOf(
  commands: LearningCycleCommand[],
  history: LearningCycleEvent[] = [],
): LearningCycleEvent[] {
  const events = [...history];
  for (const command of commands) {
    const out = given(learningCycle, events).when(command);
    if (out instanceof DomainError) throw out;
    events.push(...out);
  }
  return events;
}

function refusal(out: unknown): [string, string | undefined] {
  expect(out).toBeInstanceOf(DomainError);
  return [(out as DomainError).kind, (out as DomainError).field];
}

const convene: Cmd<'ConveneLearningCycle'> = {
  type: 'ConveneLearningCycle',
  cycleId,
  title: 'Debt as a signal',
  scale: 'organisation',
  owner: { partner: 'fresh-start' },
  convenedBy: 'biddy.kelly',
  at,
};
const convened: LearningCycleEvent = {
  type: 'LearningCycleConvened',
  data: {
    cycleId,
    cycleScale: 'organisation',
    title: 'Debt as a signal',
    owner: { partner: 'fresh-start' },
    convenedBy: 'biddy.kelly',
    convenedAt: at,
  },
};
const purpose = 'We want the people of North Edinburgh to lead thriving lives.';
const purposeSet: LearningCycleEvent = {
  type: 'CyclePurposeSet',
  data: { cycleId, cycleScale: 'organisation', purpose, setAt: at },
};
const withPurpose = [convened, purposeSet];

const understand: Cmd<'RecordSystemUnderstanding'> = {
  type: 'RecordSystemUnderstanding',
  cycleId,
  actors: ['the person', 'housing officer', 'debt advice service'],
  relationships: ['housing officer refers to debt advice only after arrears reach eviction stage'],
  factors: ['debt recovery policy', 'tenancy transfer policy'],
  learningTogether: 'a monthly case conversation with all three',
  at,
};
const design: Cmd<'DesignExperiment'> = {
  type: 'DesignExperiment',
  cycleId,
  experimentId: 'x1',
  question: 'What happens if debt data is used as a signal to start a conversation?',
  actions: ['call everyone two months in arrears', 'open with what matters to them'],
  dataToCollect: ['arrears at 3 and 6 months', 'stories from the conversations', 'the measures people chose'],
  sensemaking: 'the team reads the stories together each fortnight',
  safeToFail: 'no sanctions during the experiment; anyone can stop it',
  countermeasures: ['debt recovery letters paused for people in the experiment'],
  at,
};
const start: Cmd<'StartExperiment'> = { type: 'StartExperiment', cycleId, experimentId: 'x1', at };
const findings = {
  patternsSeen: ['arrears follow a change in benefits'],
  learningForThisScale: 'an early conversation prevents most escalations',
  learningForOtherSystems: ['the council’s debt recovery policy creates the crisis it then manages'],
};
const conclude: Cmd<'ConcludeExperiment'> = {
  type: 'ConcludeExperiment',
  cycleId,
  experimentId: 'x1',
  ...findings,
  at: later,
};
const learnt: Cmd<'RecordExperimentLearning'> = {
  type: 'RecordExperimentLearning',
  cycleId,
  experimentId: 'x1',
  ...findings,
  at,
};
const embed: Cmd<'RecordEmbedding'> = {
  type: 'RecordEmbedding',
  cycleId,
  bauChanges: ['caseworker role and remit', 'purchasing cards for workers'],
  at,
};
const influence: Cmd<'RecordInfluencing'> = {
  type: 'RecordInfluencing',
  cycleId,
  changes: [
    { whose: 'City of Edinburgh Council', direction: 'vertical', change: 'debt recovery policy' },
    { whose: 'Move On', direction: 'horizontal', change: 'share the opening conversation' },
  ],
  at,
};
const manage: Cmd<'RecordCycleManagement'> = {
  type: 'RecordCycleManagement',
  cycleId,
  operatingEffectively: 'mostly: the fortnightly sense-making slips when caseloads rise',
  whatNeedsToChange: 'protect the sense-making time',
  timeToAllocate: 'half a day a fortnight for the team',
  resources: ['a facilitator'],
  enablers: ['the CEO’s cover for the experiment'],
  barriers: ['caseloads'],
  connectWith: ['EHSCP locality team'],
  at,
};
const govern: Cmd<'RecordCycleGovernance'> = {
  type: 'RecordCycleGovernance',
  cycleId,
  areLessonsBeingLearnt: 'yes: three changes to practice so far',
  howLearningChangesPractice: 'the opening conversation is now how every worker starts',
  howPracticeBecomesInfrastructure: 'the case record has a "what matters" field first',
  howLearningAchievesPurpose: 'fewer people reach crisis',
  howWeKnow: 'the people tell us, and arrears fall',
  evaluationMechanisms: ['quarterly learning review'],
  accountTo: ['the consortium board', 'the people we work with'],
  whoIsIncluded: ['workers', 'people supported'],
  whoIsExcluded: ['the council’s debt team'],
  areBoundariesRight: 'no: the council’s debt team should be in it',
  at,
};
const link: Cmd<'LinkCycles'> = {
  type: 'LinkCycles',
  cycleId,
  to: 'lc-place',
  relation: 'escalates-to',
  at,
};
const close: Cmd<'CloseLearningCycle'> = {
  type: 'CloseLearningCycle',
  cycleId,
  why: 'the learning is embedded in business as usual',
  at: later,
};

describe('a learning cycle: convening', () => {
  it('given nothing, when convened, then LearningCycleConvened, recorded in learning-cycle-<id>', () => {
    expect(given(learningCycle).when(convene)).toEqual([convened]);
    expect(learningCycleStream('lc-1')).toBe('learning-cycle-lc-1');
  });

  it('given convened, when convened again, then a conflict', () => {
    expect(refusal(given(learningCycle, [convened]).when(convene))[0]).toBe('conflict');
  });

  it('refuses an empty title, partner or convener, and a scale that is not one of the four', () => {
    expect(refusal(given(learningCycle).when({ ...convene, title: '  ' }))).toEqual(['invalid', 'title']);
    expect(refusal(given(learningCycle).when({ ...convene, owner: { partner: '' } }))).toEqual([
      'invalid',
      'owner.partner',
    ]);
    expect(refusal(given(learningCycle).when({ ...convene, convenedBy: '' }))).toEqual([
      'invalid',
      'convenedBy',
    ]);
    expect(
      refusal(given(learningCycle).when({ ...convene, scale: 'country' as unknown as 'place' })),
    ).toEqual(['invalid', 'scale']);
  });

  it('requires a team for a team-scale cycle, and keeps it on the owner', () => {
    expect(refusal(given(learningCycle).when({ ...convene, scale: 'team' }))).toEqual([
      'invalid',
      'owner.team',
    ]);
    const [e] = given(learningCycle).when({
      ...convene,
      scale: 'team',
      owner: { partner: 'fresh-start', team: 'dsw-north' },
    }) as LearningCycleEvent[];
    expect(e.data).toMatchObject({
      cycleScale: 'team',
      owner: { partner: 'fresh-start', team: 'dsw-north' },
    });
  });

  it('records at the organisation scale by default, but every event carries the cycle’s own scale', () => {
    expect(learningCycle.scale).toBe('organisation');
    for (const scale of ['person', 'team', 'organisation', 'place'] as const) {
      const events = historyOf([
        { ...convene, scale, owner: { partner: 'fresh-start', team: 'dsw-north' } },
        { type: 'SetCyclePurpose', cycleId, purpose, at },
        understand,
        design,
        start,
        learnt,
        conclude,
        embed,
        influence,
        manage,
        govern,
        link,
        close,
      ]);
      expect(events).toHaveLength(13);
      expect(new Set(events.map(scaleOfCycleEvent))).toEqual(new Set([scale]));
      expect(new Set(events.map((e) => e.data.cycleId))).toEqual(new Set([cycleId]));
    }
  });
});

describe('a learning cycle starts with purpose', () => {
  it('given convened, when the purpose is set, then CyclePurposeSet', () => {
    expect(given(learningCycle, [convened]).when({ type: 'SetCyclePurpose', cycleId, purpose, at })).toEqual([
      purposeSet,
    ]);
  });

  it('refuses an empty purpose', () => {
    expect(
      refusal(given(learningCycle, [convened]).when({ type: 'SetCyclePurpose', cycleId, purpose: '', at })),
    ).toEqual(['invalid', 'purpose']);
  });

  it('given a purpose, when revised, then a new CyclePurposeSet; the same purpose again records nothing', () => {
    const [revised] = given(learningCycle, withPurpose).when({
      type: 'SetCyclePurpose',
      cycleId,
      purpose: 'Fewer people in North Edinburgh reach a debt crisis.',
      at: later,
    }) as LearningCycleEvent[];
    expect(revised.data).toMatchObject({ purpose: 'Fewer people in North Edinburgh reach a debt crisis.' });
    expect(given(learningCycle, withPurpose).when({ type: 'SetCyclePurpose', cycleId, purpose, at })).toEqual(
      [],
    );
  });

  it.each([
    understand,
    design,
    start,
    learnt,
    conclude,
    embed,
    influence,
    manage,
    govern,
  ] as LearningCycleCommand[])(
    'given no purpose yet, when $type, then a conflict that says to set the purpose first',
    (command) => {
      const out = given(learningCycle, [convened]).when(command);
      expect(refusal(out)[0]).toBe('conflict');
      expect((out as DomainError).message).toMatch(/set the purpose of this learning cycle first/);
    },
  );

  it.each([
    { type: 'SetCyclePurpose', cycleId, purpose, at },
    understand,
    design,
    start,
    conclude,
    embed,
    link,
    close,
  ] as LearningCycleCommand[])('given no cycle, when $type, then not found', (command) => {
    expect(refusal(given(learningCycle).when(command))[0]).toBe('not-found');
  });
});

describe('understanding the system', () => {
  it('given a purpose, when the system is understood, then SystemUnderstandingRecorded with the answers', () => {
    expect(given(learningCycle, withPurpose).when(understand)).toEqual([
      {
        type: 'SystemUnderstandingRecorded',
        data: {
          cycleId,
          cycleScale: 'organisation',
          actors: understand.actors,
          relationships: understand.relationships,
          factors: understand.factors,
          learningTogether: understand.learningTogether,
          recordedAt: at,
        },
      },
    ]);
  });

  it('needs at least one actor and one factor; relationships and learning together may wait', () => {
    expect(refusal(given(learningCycle, withPurpose).when({ ...understand, actors: [] }))).toEqual([
      'invalid',
      'actors',
    ]);
    expect(refusal(given(learningCycle, withPurpose).when({ ...understand, factors: [] }))).toEqual([
      'invalid',
      'factors',
    ]);
    const [e] = given(learningCycle, withPurpose).when({
      ...understand,
      relationships: [],
      learningTogether: null,
    }) as LearningCycleEvent[];
    expect(e.data).toMatchObject({ relationships: [], learningTogether: null });
  });

  it('refuses an empty answer in a list, naming it; trims answers and keeps each once', () => {
    expect(
      refusal(given(learningCycle, withPurpose).when({ ...understand, actors: ['the person', ' '] })),
    ).toEqual(['invalid', 'actors[1]']);
    const [e] = given(learningCycle, withPurpose).when({
      ...understand,
      actors: [' the person ', 'the person', 'landlord'],
    }) as LearningCycleEvent[];
    expect(e.data).toMatchObject({ actors: ['the person', 'landlord'] });
  });
});

describe('co-designed experiments', () => {
  const designed: LearningCycleEvent = {
    type: 'ExperimentDesigned',
    data: {
      cycleId,
      cycleScale: 'organisation',
      experimentId: 'x1',
      question: design.question,
      actions: design.actions,
      dataToCollect: design.dataToCollect,
      sensemaking: design.sensemaking,
      safeToFail: design.safeToFail,
      countermeasures: design.countermeasures,
      designedAt: at,
    },
  };
  const started: LearningCycleEvent = {
    type: 'ExperimentStarted',
    data: { cycleId, cycleScale: 'organisation', experimentId: 'x1', startedAt: at },
  };

  it('given a purpose, when an experiment is designed, then ExperimentDesigned with every answer', () => {
    expect(given(learningCycle, withPurpose).when(design)).toEqual([designed]);
  });

  it('given an experiment, when one with the same id is designed, then a conflict on experimentId', () => {
    expect(refusal(given(learningCycle, [...withPurpose, designed]).when(design))).toEqual([
      'conflict',
      'experimentId',
    ]);
    expect(
      given(learningCycle, [...withPurpose, designed]).when({ ...design, experimentId: 'x2' }),
    ).toHaveLength(1);
  });

  it.each([
    ['question', { question: '' }],
    ['actions', { actions: [] }],
    ['dataToCollect', { dataToCollect: [] }],
    ['sensemaking', { sensemaking: ' ' }],
    ['safeToFail', { safeToFail: '' }],
    ['countermeasures[0]', { countermeasures: [''] }],
    ['experimentId', { experimentId: '' }],
  ])('refuses an experiment without %s', (field, change) => {
    expect(refusal(given(learningCycle, withPurpose).when({ ...design, ...change }))).toEqual([
      'invalid',
      field,
    ]);
  });

  it('takes data of any kind, and an experiment that needs no countermeasure', () => {
    const [e] = given(learningCycle, withPurpose).when({
      ...design,
      dataToCollect: ['a photo diary', 'SWEMWBS at start and end', 'how many calls it took'],
      countermeasures: [],
    }) as LearningCycleEvent[];
    expect(e.data).toMatchObject({ countermeasures: [] });
  });

  it('given no such experiment, when it is started or concluded, then not found on experimentId', () => {
    expect(refusal(given(learningCycle, withPurpose).when(start))).toEqual(['not-found', 'experimentId']);
    expect(refusal(given(learningCycle, withPurpose).when(conclude))).toEqual(['not-found', 'experimentId']);
  });

  it('given designed, when started, then ExperimentStarted; starting twice is a conflict', () => {
    expect(given(learningCycle, [...withPurpose, designed]).when(start)).toEqual([started]);
    const out = given(learningCycle, [...withPurpose, designed, started]).when(start);
    expect(refusal(out)).toEqual(['conflict', 'experimentId']);
    expect((out as DomainError).message).toMatch(/already running/);
  });

  it('given designed but not started, when concluded or learning is recorded, then a conflict: start it first', () => {
    for (const command of [conclude, learnt]) {
      const out = given(learningCycle, [...withPurpose, designed]).when(command);
      expect(refusal(out)).toEqual(['conflict', 'experimentId']);
      expect((out as DomainError).message).toMatch(/start it first/);
    }
  });

  it('given running, when learning is recorded, then ExperimentLearningRecorded; when concluded, then ExperimentConcluded with the findings', () => {
    const running = [...withPurpose, designed, started];
    expect(given(learningCycle, running).when(learnt)).toEqual([
      {
        type: 'ExperimentLearningRecorded',
        data: { cycleId, cycleScale: 'organisation', experimentId: 'x1', ...findings, recordedAt: at },
      },
    ]);
    expect(given(learningCycle, running).when(conclude)).toEqual([
      {
        type: 'ExperimentConcluded',
        data: { cycleId, cycleScale: 'organisation', experimentId: 'x1', ...findings, concludedAt: later },
      },
    ]);
  });

  it('given concluded, when concluded again, started again or more learning is recorded, then a conflict', () => {
    const concluded = historyOf([conclude], [...withPurpose, designed, started]);
    for (const command of [conclude, start, learnt]) {
      const out = given(learningCycle, concluded).when(command);
      expect(refusal(out)).toEqual(['conflict', 'experimentId']);
      expect((out as DomainError).message).toMatch(/already concluded/);
    }
  });

  it('concludes only with learning for this scale; patterns and learning for others may be none', () => {
    const running = [...withPurpose, designed, started];
    expect(refusal(given(learningCycle, running).when({ ...conclude, learningForThisScale: '' }))).toEqual([
      'invalid',
      'learningForThisScale',
    ]);
    expect(refusal(given(learningCycle, running).when({ ...conclude, patternsSeen: [''] }))).toEqual([
      'invalid',
      'patternsSeen[0]',
    ]);
    expect(
      given(learningCycle, running).when({ ...conclude, patternsSeen: [], learningForOtherSystems: [] }),
    ).toHaveLength(1);
  });

  it('runs each experiment on its own lifecycle', () => {
    const two = historyOf([design, { ...design, experimentId: 'x2' }, start], withPurpose);
    expect(refusal(given(learningCycle, two).when({ ...conclude, experimentId: 'x2' }))[0]).toBe('conflict');
    expect(given(learningCycle, two).when(conclude)).toHaveLength(1);
  });
});

describe('embedding, influencing, managing and governing', () => {
  it('records how our business as usual changes', () => {
    expect(given(learningCycle, withPurpose).when(embed)).toEqual([
      {
        type: 'EmbeddingRecorded',
        data: { cycleId, cycleScale: 'organisation', bauChanges: embed.bauChanges, recordedAt: at },
      },
    ]);
    expect(refusal(given(learningCycle, withPurpose).when({ ...embed, bauChanges: [] }))).toEqual([
      'invalid',
      'bauChanges',
    ]);
  });

  it('records how others’ business as usual must change, horizontally or vertically', () => {
    expect(given(learningCycle, withPurpose).when(influence)).toEqual([
      {
        type: 'InfluencingRecorded',
        data: { cycleId, cycleScale: 'organisation', changes: influence.changes, recordedAt: at },
      },
    ]);
    expect(refusal(given(learningCycle, withPurpose).when({ ...influence, changes: [] }))).toEqual([
      'invalid',
      'changes',
    ]);
    const sideways = { whose: 'Move On', direction: 'diagonal' as 'vertical', change: 'x' };
    expect(refusal(given(learningCycle, withPurpose).when({ ...influence, changes: [sideways] }))).toEqual([
      'invalid',
      'changes[0].direction',
    ]);
    const nobody = { whose: '', direction: 'vertical' as const, change: 'x' };
    expect(refusal(given(learningCycle, withPurpose).when({ ...influence, changes: [nobody] }))).toEqual([
      'invalid',
      'changes[0].whose',
    ]);
  });

  it('records how the cycle is managed: time, resources, enablers, barriers, who to connect with', () => {
    const { type: _, at: __, cycleId: ___, ...answers } = manage;
    expect(given(learningCycle, withPurpose).when(manage)).toEqual([
      {
        type: 'CycleManagementRecorded',
        data: { cycleId, cycleScale: 'organisation', ...answers, recordedAt: at },
      },
    ]);
    expect(refusal(given(learningCycle, withPurpose).when({ ...manage, timeToAllocate: '' }))).toEqual([
      'invalid',
      'timeToAllocate',
    ]);
    expect(refusal(given(learningCycle, withPurpose).when({ ...manage, operatingEffectively: '' }))).toEqual([
      'invalid',
      'operatingEffectively',
    ]);
    expect(
      given(learningCycle, withPurpose).when({ ...manage, whatNeedsToChange: null, barriers: [] }),
    ).toHaveLength(1);
  });

  it('records how the cycle is governed, including who is included and excluded and whether that is right', () => {
    const { type: _, at: __, cycleId: ___, ...answers } = govern;
    expect(given(learningCycle, withPurpose).when(govern)).toEqual([
      {
        type: 'CycleGovernanceRecorded',
        data: { cycleId, cycleScale: 'organisation', ...answers, recordedAt: at },
      },
    ]);
    for (const field of [
      'areLessonsBeingLearnt',
      'howLearningChangesPractice',
      'howPracticeBecomesInfrastructure',
      'howLearningAchievesPurpose',
      'howWeKnow',
      'areBoundariesRight',
    ] as const) {
      expect(refusal(given(learningCycle, withPurpose).when({ ...govern, [field]: '' }))).toEqual([
        'invalid',
        field,
      ]);
    }
    expect(refusal(given(learningCycle, withPurpose).when({ ...govern, accountTo: ['board', ''] }))).toEqual([
      'invalid',
      'accountTo[1]',
    ]);
  });
});

describe('connected learning cycles', () => {
  const linked = (from: string, to: string, relation: Cmd<'LinkCycles'>['relation']): LearningCycleEvent => ({
    type: 'CyclesLinked',
    data: { cycleId: from, cycleScale: 'organisation', link: { from, to, relation }, linkedAt: at },
  });

  it('given a cycle, when linked to another, then CyclesLinked with the link on this cycle', () => {
    expect(given(learningCycle, withPurpose).when(link)).toEqual([
      linked(cycleId, 'lc-place', 'escalates-to'),
    ]);
  });

  it('links a cycle into the stack before its purpose is set (linking is not a stage)', () => {
    expect(
      given(learningCycle, [convened]).when({ ...link, to: 'lc-team', relation: 'arose-from-pattern-in' }),
    ).toHaveLength(1);
  });

  it('given linked, when the same link comes again, then nothing new; another relation to the same cycle is new', () => {
    const history = [...withPurpose, linked(cycleId, 'lc-place', 'escalates-to')];
    expect(given(learningCycle, history).when(link)).toEqual([]);
    expect(given(learningCycle, history).when({ ...link, relation: 'informs' })).toHaveLength(1);
  });

  it('refuses a link to itself, to nothing, or by a relation it does not know', () => {
    expect(refusal(given(learningCycle, withPurpose).when({ ...link, to: cycleId }))).toEqual([
      'invalid',
      'to',
    ]);
    expect(refusal(given(learningCycle, withPurpose).when({ ...link, to: '' }))).toEqual(['invalid', 'to']);
    expect(
      refusal(given(learningCycle, withPurpose).when({ ...link, relation: 'likes' as unknown as 'informs' })),
    ).toEqual(['invalid', 'relation']);
  });

  it('follows the stack both ways: what a cycle links to, and what links to it', () => {
    // A person-scale pattern gives rise to a team cycle, convened by the organisation's cycle; the team's
    // cycle escalates to the place, and the place's cycle informs the organisation's.
    const events = [
      linked('lc-team', 'lc-person', 'arose-from-pattern-in'),
      linked('lc-team', 'lc-org', 'convened-by'),
      linked('lc-team', 'lc-place', 'escalates-to'),
      linked('lc-place', 'lc-org', 'informs'),
      linked('lc-team', 'lc-place', 'escalates-to'), // a redelivery
      convened,
    ];
    const links = linksOf(events);
    expect(links.get('lc-team')).toEqual({
      outgoing: [
        { from: 'lc-team', to: 'lc-person', relation: 'arose-from-pattern-in' },
        { from: 'lc-team', to: 'lc-org', relation: 'convened-by' },
        { from: 'lc-team', to: 'lc-place', relation: 'escalates-to' },
      ],
      incoming: [],
    });
    expect(links.get('lc-place')).toEqual({
      outgoing: [{ from: 'lc-place', to: 'lc-org', relation: 'informs' }],
      incoming: [{ from: 'lc-team', to: 'lc-place', relation: 'escalates-to' }],
    });
    expect(links.get('lc-org')?.incoming.map((l) => [l.from, CYCLE_LINK_INVERSE[l.relation]])).toEqual([
      ['lc-team', 'convened'],
      ['lc-place', 'informed-by'],
    ]);
    expect(links.get('lc-person')).toEqual({
      outgoing: [],
      incoming: [{ from: 'lc-team', to: 'lc-person', relation: 'arose-from-pattern-in' }],
    });
    expect(links.has(cycleId)).toBe(false);
  });
});

describe('closing a learning cycle', () => {
  it('given a cycle, when closed with why, then LearningCycleClosed', () => {
    expect(given(learningCycle, withPurpose).when(close)).toEqual([
      {
        type: 'LearningCycleClosed',
        data: { cycleId, cycleScale: 'organisation', why: close.why, closedAt: later },
      },
    ]);
    expect(refusal(given(learningCycle, withPurpose).when({ ...close, why: '' }))).toEqual([
      'invalid',
      'why',
    ]);
  });

  it('given a running experiment, when closed, then a conflict naming it; once concluded, it closes', () => {
    const running = historyOf([design, start], withPurpose);
    const out = given(learningCycle, running).when(close);
    expect(refusal(out)[0]).toBe('conflict');
    expect((out as DomainError).message).toMatch(/conclude the running experiment x1/);
    expect(given(learningCycle, historyOf([conclude], running)).when(close)).toHaveLength(1);
    // An experiment designed but never run does not hold the cycle open.
    expect(given(learningCycle, historyOf([design], withPurpose)).when(close)).toHaveLength(1);
  });

  it.each([
    { type: 'SetCyclePurpose', cycleId, purpose: 'another', at },
    understand,
    design,
    embed,
    influence,
    manage,
    govern,
    link,
    close,
  ] as LearningCycleCommand[])(
    'given closed, when $type, then a conflict: the cycle is closed',
    (command) => {
      const closed = historyOf([close], withPurpose);
      const out = given(learningCycle, closed).when(command);
      expect(refusal(out)[0]).toBe('conflict');
      expect((out as DomainError).message).toMatch(/is closed/);
    },
  );

  it('given closed, when an experiment that was designed is started, then a conflict', () => {
    const closed = historyOf([design, close], withPurpose);
    expect(refusal(given(learningCycle, closed).when(start))[0]).toBe('conflict');
  });
});

describe('team reflective practice', () => {
  const record: TeamReflectionCommand = {
    type: 'RecordReflectiveSession',
    sessionId: 's1',
    team: 'dsw-north',
    heldAt: '2026-11-19T14:00:00.000Z',
    whatHappened: 'three people came back after the summer with new debt',
    whatIsWorking: 'the opening conversation',
    whatIsWorkingLessWell: 'waiting for the council to answer',
    whatShouldChange: 'a named contact in the council’s debt team',
    attendeeCount: 6,
    at,
  };
  const held: TeamReflectionEvent = {
    type: 'ReflectiveSessionHeld',
    data: {
      sessionId: 's1',
      team: 'dsw-north',
      heldAt: '2026-11-19T14:00:00.000Z',
      whatHappened: record.whatHappened,
      whatIsWorking: record.whatIsWorking,
      whatIsWorkingLessWell: record.whatIsWorkingLessWell,
      whatShouldChange: record.whatShouldChange,
      attendeeCount: 6,
      recordedAt: at,
    },
  };

  it('given nothing, when a session is recorded, then ReflectiveSessionHeld at the team scale', () => {
    expect(given(teamReflection).when(record)).toEqual([held]);
    expect(teamReflection.scale).toBe('team');
    expect(teamReflectionStream('dsw-north')).toBe('team-reflection-dsw-north');
  });

  it('given a session, when the same session id comes again, then a conflict; another session is new', () => {
    expect(refusal(given(teamReflection, [held]).when(record))).toEqual(['conflict', 'sessionId']);
    expect(given(teamReflection, [held]).when({ ...record, sessionId: 's2' })).toHaveLength(1);
  });

  it('refuses a session held in the future, and takes one held the moment it is recorded', () => {
    expect(refusal(given(teamReflection).when({ ...record, heldAt: '2026-11-20T10:00:00.001Z' }))).toEqual([
      'invalid',
      'heldAt',
    ]);
    expect(refusal(given(teamReflection).when({ ...record, heldAt: 'last Tuesday' }))).toEqual([
      'invalid',
      'heldAt',
    ]);
    expect(given(teamReflection).when({ ...record, heldAt: at })).toHaveLength(1);
  });

  it.each([
    'whatHappened',
    'whatIsWorking',
    'whatIsWorkingLessWell',
    'whatShouldChange',
    'sessionId',
    'team',
  ] as const)('refuses a session with %s empty', (field) => {
    expect(refusal(given(teamReflection).when({ ...record, [field]: ' ' }))).toEqual(['invalid', field]);
  });

  it('counts attendees as a whole number, one or more', () => {
    for (const attendeeCount of [0, -2, 2.5, Number.NaN]) {
      expect(refusal(given(teamReflection).when({ ...record, attendeeCount }))).toEqual([
        'invalid',
        'attendeeCount',
      ]);
    }
  });

  it('keeps one team’s sessions in its stream', () => {
    expect(
      refusal(given(teamReflection, [held]).when({ ...record, sessionId: 's2', team: 'dsw-south' })),
    ).toEqual(['invalid', 'team']);
  });
});
