import { RunningConsortium } from '../apps/consortium/src/consortium-runner';
import { eventually } from './harness';
import { api, settled, startTestConsortium, tokenFor } from './harness/consortium';

type Body = Record<string, unknown>;

/**
 * Learning at four scales through the APIs: a worker's person-scale cycle, a team cycle that arose from a
 * pattern in it, a place cycle a steward convened, team reflective practice, and the issue log as the seed
 * draws it, raised from learning, escalated to government by a steward and closed with what changed.
 */
describe('learning cycles at every scale, and the issue log', () => {
  let c: RunningConsortium;
  let fs: string;
  let projection: string;
  const t: Record<string, string> = {};
  const post = async (path: string, token: string, body: Body) => {
    const r = await api(fs, 'POST', path, token, body);
    expect({ path, status: r.status, detail: r.body.detail }).toMatchObject({ path, status: 201 });
    return r.body as Record<string, string>;
  };

  beforeAll(async () => {
    c = await startTestConsortium('real');
    fs = c.partners.get('fresh-start')!.url;
    projection = c.projection.url;
    t.worker = await tokenFor(c, 'fresh-start', 'worker', 'dsw-amy');
    t.steward = await tokenFor(c, 'fresh-start', 'steward', 'ceo-biddy');
    t.reader = await tokenFor(c, 'ehscp', 'statutory-reader', 'ehscp-officer');
  }, 60000);
  afterAll(() => c?.stop());

  it('runs a cycle through every stage, links cycles across scales and follows the stack both ways', async () => {
    const person = await post('/learning-cycles', t.worker, {
      title: 'Debt as a signal',
      scale: 'person',
      purpose: 'Help the people we support to live free of debt they cannot manage',
    });
    const team = await post('/learning-cycles', t.worker, {
      title: 'Opening conversations',
      scale: 'team',
      team: 'dsw-team',
    });
    expect(
      (await api(fs, 'POST', '/learning-cycles', t.worker, { title: 'Place', scale: 'place' })).status,
    ).toBe(403);
    const place = await post('/learning-cycles', t.steward, {
      title: 'No wrong door across North Edinburgh',
      scale: 'place',
      purpose: 'We want the people of North Edinburgh to lead thriving lives',
    });
    // Purpose first: the team cycle has none yet.
    const early = await api(fs, 'POST', `/learning-cycles/${team.cycleId}/embedding`, t.worker, {
      bauChanges: ['x'],
    });
    expect(early.status).toBe(409);
    await post(`/learning-cycles/${team.cycleId}/purpose`, t.worker, {
      purpose: 'Conversations that start from what matters',
    });
    await post(`/learning-cycles/${team.cycleId}/system-understanding`, t.worker, {
      actors: ['Person', 'Landlord', 'Council tax team'],
      relationships: ['Letters frighten people into hiding'],
      factors: ['Debt recovery policy', 'Benefit errors'],
      learningTogether: 'Monthly sessions with the council tax team',
    });
    const { experimentId } = await post(`/learning-cycles/${team.cycleId}/experiments`, t.worker, {
      question: 'What happens if the first visit is about what matters, not the debt?',
      actions: ['Open with what matters', 'Visit rather than write'],
      dataToCollect: ['Journaling', 'Soft measures', 'Visits and calls'],
      sensemaking: 'Team reflective practice every fortnight',
      safeToFail: 'Small: three workers, six weeks',
      countermeasures: ['Managers protect the time'],
    });
    await post(`/learning-cycles/${team.cycleId}/experiment-start`, t.worker, { experimentId });
    await post(`/learning-cycles/${team.cycleId}/experiment-conclusion`, t.worker, {
      experimentId,
      patternsSeen: ['People engage when the first contact is not about money'],
      learningForThisScale: 'Lead with what matters',
      learningForOtherSystems: ['Debt recovery letters cause hiding'],
    });
    await post(`/learning-cycles/${team.cycleId}/embedding`, t.worker, {
      bauChanges: ['First visits open with what matters'],
    });
    await post(`/learning-cycles/${team.cycleId}/influencing`, t.worker, {
      changes: [
        {
          whose: 'City of Edinburgh Council',
          direction: 'vertical',
          change: 'Pause recovery letters while support starts',
        },
      ],
    });
    await post(`/learning-cycles/${team.cycleId}/management`, t.worker, {
      operatingEffectively: 'Mostly',
      timeToAllocate: 'Two hours a fortnight',
      barriers: ['Caseloads'],
    });
    await post(`/learning-cycles/${team.cycleId}/governance`, t.steward, {
      areLessonsBeingLearnt: 'Yes',
      howLearningChangesPractice: 'First visits changed',
      howPracticeBecomesInfrastructure: 'Induction',
      howLearningAchievesPurpose: 'People stay engaged',
      howWeKnow: 'Journaling and soft measures',
      whoIsExcluded: ['People without a phone'],
      areBoundariesRight: 'Not yet',
    });
    await post(`/learning-cycles/${team.cycleId}/links`, t.worker, {
      to: person.cycleId,
      relation: 'arose-from-pattern-in',
    });
    await post(`/learning-cycles/${team.cycleId}/links`, t.steward, {
      to: place.cycleId,
      relation: 'informs',
    });
    await settled(c);

    const view = await api(projection, 'GET', `/learning-cycles/${team.cycleId}`, t.steward);
    expect(view.body.cycle).toMatchObject({
      scale: 'team',
      stage: 'governing',
      owner_partner: 'fresh-start',
      experiments: 1,
    });
    expect(view.body.links).toEqual(
      expect.arrayContaining([
        { cycleId: person.cycleId, relation: 'arose-from-pattern-in' },
        { cycleId: place.cycleId, relation: 'informs' },
      ]),
    );
    expect((view.body.history as Body[]).map((h) => h.type)).toContain('ExperimentConcluded');
    // The other way up the stack: the place cycle sees what informs it.
    const placeView = await api(projection, 'GET', `/learning-cycles/${place.cycleId}`, t.reader);
    expect(placeView.body.links).toEqual([{ cycleId: team.cycleId, relation: 'informed-by' }]);
    // A statutory body sees the place's learning, not a partner's teams.
    expect((await api(projection, 'GET', `/learning-cycles/${team.cycleId}`, t.reader)).status).toBe(404);
    const theirs = await api(projection, 'GET', '/learning-cycles', t.reader);
    expect((theirs.body.cycles as Body[]).map((x) => x.cycleId)).toEqual([place.cycleId]);
    const byScale = await api(projection, 'GET', '/learning-cycles?scale=team', t.steward);
    expect((byScale.body.cycles as Body[]).map((x) => x.cycleId)).toEqual([team.cycleId]);
    expect(byScale.body.byScale).toMatchObject({ team: 1 });
    // Each event recorded at its cycle's scale.
    const log = await c.partners.get('fresh-start')!.store.readStream(`learning-cycle-${place.cycleId}`);
    expect(log.every((e) => e.metadata.scale === 'place')).toBe(true);
  });

  it('records a team’s reflective practice at the team scale', async () => {
    await post('/teams/dsw-team/reflective-sessions', t.worker, {
      heldAt: new Date(Date.now() - 3600_000).toISOString(),
      whatHappened: 'Three people re-engaged',
      whatIsWorking: 'Visits',
      whatIsWorkingLessWell: 'Letters',
      whatShouldChange: 'Fewer letters',
      attendeeCount: 5,
    });
    const log = await c.partners.get('fresh-start')!.store.readStream('team-reflection-fresh-start.dsw-team');
    expect(log.map((e) => [e.type, e.metadata.scale])).toEqual([['ReflectiveSessionHeld', 'team']]);
  });

  it('keeps the issue log as the seed draws it: raised from learning, escalated with a reason, closed with what changed', async () => {
    const { issueId } = await post('/issues', t.worker, {
      description: 'Debt recovery letters push people into hiding',
      level: 2,
      owner: 'team',
      raisedFrom: { kind: 'experiment', ref: 'opening-conversations' },
      evidence: [
        { kind: 'learning-cycle', ref: 'debt-as-a-signal', note: 'Six of eight people hid from letters' },
      ],
    });
    await post(`/issues/${issueId}/countermeasure`, t.worker, {
      countermeasure: 'Workers call before letters go out',
    });
    await post(`/issues/${issueId}/system-change`, t.worker, {
      systemChange: 'Recovery pauses while support starts',
    });
    // Down is refused; government is a steward's call.
    expect(
      (await api(fs, 'POST', `/issues/${issueId}/escalation`, t.worker, { level: 1, reason: 'x' })).status,
    ).toBe(400);
    expect(
      (
        await api(fs, 'POST', `/issues/${issueId}/escalation`, t.worker, {
          level: 3,
          owner: 'government',
          reason: 'x',
        })
      ).status,
    ).toBe(403);
    await post(`/issues/${issueId}/escalation`, t.steward, {
      level: 3,
      owner: 'government',
      reason: 'Needs a policy change by the council',
    });
    await settled(c);
    // A worker cannot raise one straight to government either; and a statutory body sees only what came up.
    const direct = {
      description: 'x',
      level: 3,
      owner: 'government',
      raisedFrom: { kind: 'other', ref: 'x' },
    };
    expect((await api(fs, 'POST', '/issues', t.worker, direct)).status).toBe(403);
    const { issueId: teamIssue } = await post('/issues', t.worker, { ...direct, level: 1, owner: 'team' });
    await settled(c);
    expect((await api(projection, 'GET', `/issues/${teamIssue}`, t.reader)).status).toBe(404);
    const open = await api(projection, 'GET', '/issues?status=open', t.reader);
    expect(open.body.issues).toEqual([
      expect.objectContaining({
        issueId,
        level: 3,
        owner: 'government',
        status: 'open',
        countermeasure: 'Workers call before letters go out',
        systemChange: 'Recovery pauses while support starts',
      }),
    ]);
    await post(`/issues/${issueId}/closure`, t.steward, {
      whatChanged: 'The council pauses recovery for people in support',
    });
    const closed = await eventually(async () => {
      const r = await api(projection, 'GET', `/issues/${issueId}`, t.steward);
      return r.body.issue && (r.body.issue as Body).status === 'closed' ? r : undefined;
    }, 'the closed issue');
    expect((closed.body.history as Body[]).map((h) => h.type)).toEqual([
      'IssueRaised',
      'IssueCountermeasureSet',
      'IssueSystemChangeSet',
      'IssueEscalated',
      'IssueClosed',
    ]);
    expect(
      (await api(fs, 'POST', `/issues/${issueId}/countermeasure`, t.worker, { countermeasure: 'y' })).status,
    ).toBe(409);
  });
});
