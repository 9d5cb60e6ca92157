import { DomainError } from '../src';
import { IssueCommand, IssueEvent, issue, issueStream } from '../src/issue-log/issue';
import { given } from './given-when-then';

const at = '2026-11-20T10:00:00.000Z';
const later = '2027-03-01T10:00:00.000Z';
const issueId = 'i1';

type Cmd<T extends IssueCommand['type']> = Extract<IssueCommand, { type: T }>;

function refusal(out: unknown): [string, string | undefined] {
  expect(out).toBeInstanceOf(DomainError);
  return [(out as DomainError).kind, (out as DomainError).field];
}

/** The events a run of accepted commands leaves behind. */
function historyOf(commands: IssueCommand[], history: IssueEvent[] = []): IssueEvent[] {
  const events = [...history];
  for (const command of commands) {
    const out = given(issue, events).when(command);
    if (out instanceof DomainError) throw out;
    events.push(...out);
  }
  return events;
}

const raise: Cmd<'RaiseIssue'> = {
  type: 'RaiseIssue',
  issueId,
  description: 'Debt recovery letters push people into crisis before anyone can help',
  level: 2,
  owner: 'team',
  raisedFrom: { kind: 'experiment', ref: 'lc-1/x1' },
  evidence: [
    { kind: 'learning-cycle', ref: 'lc-1', note: 'the concluded experiment’s findings' },
    { kind: 'reflective-session', ref: 's1', note: null },
  ],
  at,
};
const raised: IssueEvent = {
  type: 'IssueRaised',
  data: {
    issueId,
    description: raise.description,
    level: 2,
    owner: 'team',
    raisedFrom: { kind: 'experiment', ref: 'lc-1/x1' },
    evidence: raise.evidence,
    raisedAt: at,
  },
};
const countermeasure: Cmd<'SetCountermeasure'> = {
  type: 'SetCountermeasure',
  issueId,
  countermeasure: 'workers call the council’s debt team for each person before the letter goes',
  at,
};
const systemChange: Cmd<'SetSystemChange'> = {
  type: 'SetSystemChange',
  issueId,
  systemChange: 'the debt recovery policy starts with a conversation, not a letter',
  at,
};
const escalate: Cmd<'EscalateIssue'> = {
  type: 'EscalateIssue',
  issueId,
  owner: 'leadership',
  reason: 'the team cannot change the council’s policy',
  at,
};
const evidence: Cmd<'LinkEvidence'> = {
  type: 'LinkEvidence',
  issueId,
  link: { kind: 'evidence-pack', ref: 'pack-2026-q4', note: 'arrears before and after' },
  at,
};
const closeIssue: Cmd<'CloseIssue'> = {
  type: 'CloseIssue',
  issueId,
  whatChanged: 'the council changed its debt recovery policy',
  at: later,
};
const reopen: Cmd<'ReopenIssue'> = {
  type: 'ReopenIssue',
  issueId,
  reason: 'the letters are back since the new financial year',
  at: later,
};

describe('raising an issue', () => {
  it('given nothing, when raised, then IssueRaised (open), in issue-<id>', () => {
    expect(given(issue).when(raise)).toEqual([raised]);
    expect(issueStream('i1')).toBe('issue-i1');
    expect(issue.scale).toBe('organisation');
  });

  it('given raised, when raised again, then a conflict', () => {
    expect(refusal(given(issue, [raised]).when(raise))[0]).toBe('conflict');
  });

  it.each(['learning-cycle', 'experiment', 'reflective-session', 'journey-pattern', 'other'] as const)(
    'raises an issue from any learning: %s',
    (kind) => {
      const [e] = given(issue).when({ ...raise, raisedFrom: { kind, ref: 'r' } }) as IssueEvent[];
      expect(e.data).toMatchObject({ raisedFrom: { kind, ref: 'r' } });
    },
  );

  it.each([
    ['description', { description: ' ' }],
    ['issueId', { issueId: '' }],
    ['level', { level: 4 as 3 }],
    ['level', { level: '2' as unknown as 2 }],
    ['owner', { owner: 'council' as 'team' }],
    ['raisedFrom', { raisedFrom: null as unknown as Cmd<'RaiseIssue'>['raisedFrom'] }],
    ['raisedFrom.kind', { raisedFrom: { kind: 'rumour' as 'other', ref: 'x' } }],
    ['raisedFrom.ref', { raisedFrom: { kind: 'other' as const, ref: '' } }],
    ['evidence', { evidence: null as unknown as [] }],
    ['evidence[0].ref', { evidence: [{ kind: 'learning-cycle', ref: '', note: null }] }],
    ['evidence[1].kind', { evidence: [raise.evidence[0], { kind: ' ', ref: 'x', note: null }] }],
    ['evidence[0].note', { evidence: [{ kind: 'learning-cycle', ref: 'lc-1', note: '' }] }],
  ])('refuses an issue with a bad %s', (field, change) => {
    expect(refusal(given(issue).when({ ...raise, ...change }))).toEqual(['invalid', field]);
  });

  it('takes each piece of evidence once, and an issue with no evidence yet', () => {
    const [e] = given(issue).when({
      ...raise,
      evidence: [...raise.evidence, { kind: 'learning-cycle', ref: 'lc-1', note: 'again' }],
    }) as IssueEvent[];
    expect(e.data).toMatchObject({ evidence: raise.evidence });
    expect(given(issue).when({ ...raise, evidence: [] })).toHaveLength(1);
  });

  it.each([countermeasure, systemChange, escalate, evidence, closeIssue, reopen] as IssueCommand[])(
    'given no issue, when $type, then not found',
    (command) => {
      expect(refusal(given(issue).when(command))[0]).toBe('not-found');
    },
  );
});

describe('the action required', () => {
  it('given raised, when a countermeasure is set, then IssueCountermeasureSet; a new one replaces it', () => {
    expect(given(issue, [raised]).when(countermeasure)).toEqual([
      {
        type: 'IssueCountermeasureSet',
        data: { issueId, countermeasure: countermeasure.countermeasure, setAt: at },
      },
    ]);
    const history = historyOf([countermeasure], [raised]);
    expect(given(issue, history).when({ ...countermeasure, countermeasure: 'a named contact' })).toHaveLength(
      1,
    );
    expect(refusal(given(issue, [raised]).when({ ...countermeasure, countermeasure: '' }))).toEqual([
      'invalid',
      'countermeasure',
    ]);
  });

  it('given raised, when a system change is set, then IssueSystemChangeSet', () => {
    expect(given(issue, [raised]).when(systemChange)).toEqual([
      { type: 'IssueSystemChangeSet', data: { issueId, systemChange: systemChange.systemChange, setAt: at } },
    ]);
    expect(refusal(given(issue, [raised]).when({ ...systemChange, systemChange: ' ' }))).toEqual([
      'invalid',
      'systemChange',
    ]);
  });
});

describe('escalating an issue', () => {
  it('given owned by the team, when escalated to leadership, then IssueEscalated with from and to', () => {
    expect(given(issue, [raised]).when(escalate)).toEqual([
      {
        type: 'IssueEscalated',
        data: {
          issueId,
          fromLevel: 2,
          toLevel: 2,
          fromOwner: 'team',
          toOwner: 'leadership',
          reason: escalate.reason,
          escalatedAt: at,
        },
      },
    ]);
  });

  it('escalates up in level alone, or in level and owner together', () => {
    const [byLevel] = given(issue, [raised]).when({
      type: 'EscalateIssue',
      issueId,
      level: 3,
      reason: 'it is national policy',
      at,
    }) as IssueEvent[];
    expect(byLevel.data).toMatchObject({ fromLevel: 2, toLevel: 3, fromOwner: 'team', toOwner: 'team' });
    const [both] = given(issue, [raised]).when({
      ...escalate,
      level: 3,
      owner: 'government',
    }) as IssueEvent[];
    expect(both.data).toMatchObject({ toLevel: 3, toOwner: 'government' });
  });

  it('requires a reason', () => {
    expect(refusal(given(issue, [raised]).when({ ...escalate, reason: '' }))).toEqual(['invalid', 'reason']);
  });

  it('refuses to escalate down in level or in owner, even when the other goes up', () => {
    expect(refusal(given(issue, [raised]).when({ ...escalate, owner: undefined, level: 1 }))).toEqual([
      'invalid',
      'level',
    ]);
    expect(refusal(given(issue, [raised]).when({ ...escalate, level: 1 }))).toEqual(['invalid', 'level']);
    const withLeadership = historyOf([escalate], [raised]);
    expect(refusal(given(issue, withLeadership).when({ ...escalate, owner: 'team' }))).toEqual([
      'invalid',
      'owner',
    ]);
    expect(refusal(given(issue, withLeadership).when({ ...escalate, owner: 'team', level: 3 }))).toEqual([
      'invalid',
      'owner',
    ]);
  });

  it('refuses an escalation that goes nowhere: to where the issue already is, or to no level or owner', () => {
    const out = given(issue, [raised]).when({ ...escalate, owner: 'team' });
    expect(refusal(out)).toEqual(['invalid', 'owner']);
    expect((out as DomainError).message).toMatch(/escalation goes up/);
    expect(refusal(given(issue, [raised]).when({ ...escalate, owner: undefined, level: 2 }))).toEqual([
      'invalid',
      'level',
    ]);
    expect(refusal(given(issue, [raised]).when({ ...escalate, owner: undefined }))).toEqual([
      'invalid',
      'level',
    ]);
  });

  it('refuses an owner or level it does not know', () => {
    expect(refusal(given(issue, [raised]).when({ ...escalate, owner: 'king' as 'government' }))).toEqual([
      'invalid',
      'owner',
    ]);
    expect(refusal(given(issue, [raised]).when({ ...escalate, level: 9 as 3 }))).toEqual([
      'invalid',
      'level',
    ]);
  });

  it('goes up step by step: team, leadership, government; then no higher', () => {
    const history = historyOf(
      [escalate, { ...escalate, owner: 'government', level: 3, reason: 'only the Scottish Government can' }],
      [raised],
    );
    expect(refusal(given(issue, history).when({ ...escalate, owner: 'government' }))[0]).toBe('invalid');
    expect(refusal(given(issue, history).when({ ...escalate, owner: 'government', level: 3 }))[0]).toBe(
      'invalid',
    );
  });
});

describe('evidence', () => {
  it('given raised, when evidence is linked, then IssueEvidenceLinked; the same evidence again records nothing', () => {
    const [linked] = given(issue, [raised]).when(evidence) as IssueEvent[];
    expect(linked).toEqual({
      type: 'IssueEvidenceLinked',
      data: { issueId, link: evidence.link, linkedAt: at },
    });
    expect(given(issue, [raised, linked]).when(evidence)).toEqual([]);
    // Evidence given when the issue was raised counts too.
    expect(given(issue, [raised]).when({ ...evidence, link: { ...raise.evidence[0], note: null } })).toEqual(
      [],
    );
  });

  it('refuses a link without a kind or a ref, or with an empty note', () => {
    expect(
      refusal(given(issue, [raised]).when({ ...evidence, link: { ...evidence.link, ref: '' } })),
    ).toEqual(['invalid', 'link.ref']);
    expect(
      refusal(given(issue, [raised]).when({ ...evidence, link: { ...evidence.link, kind: '' } })),
    ).toEqual(['invalid', 'link.kind']);
    expect(
      refusal(given(issue, [raised]).when({ ...evidence, link: { ...evidence.link, note: ' ' } })),
    ).toEqual(['invalid', 'link.note']);
    expect(
      refusal(
        given(issue, [raised]).when({ ...evidence, link: undefined as unknown as typeof evidence.link }),
      ),
    ).toEqual(['invalid', 'link']);
  });
});

describe('closing and reopening', () => {
  const closed: IssueEvent = {
    type: 'IssueClosed',
    data: { issueId, whatChanged: closeIssue.whatChanged, closedAt: later },
  };

  it('given open, when closed with what changed, then IssueClosed', () => {
    expect(given(issue, [raised]).when(closeIssue)).toEqual([closed]);
  });

  it('requires what changed to close', () => {
    expect(refusal(given(issue, [raised]).when({ ...closeIssue, whatChanged: '' }))).toEqual([
      'invalid',
      'whatChanged',
    ]);
  });

  it.each([countermeasure, systemChange, escalate, evidence, closeIssue] as IssueCommand[])(
    'given closed, when $type, then a conflict: reopen it first',
    (command) => {
      const out = given(issue, [raised, closed]).when(command);
      expect(refusal(out)[0]).toBe('conflict');
      expect((out as DomainError).message).toMatch(/is closed: reopen it/);
    },
  );

  it('given closed, when reopened with a reason, then IssueReopened; and it can be changed again', () => {
    expect(given(issue, [raised, closed]).when(reopen)).toEqual([
      { type: 'IssueReopened', data: { issueId, reason: reopen.reason, reopenedAt: later } },
    ]);
    const reopened = historyOf([reopen], [raised, closed]);
    expect(given(issue, reopened).when(countermeasure)).toHaveLength(1);
    expect(given(issue, reopened).when(escalate)).toHaveLength(1);
    expect(given(issue, reopened).when(closeIssue)).toHaveLength(1);
  });

  it('requires a reason to reopen, and refuses to reopen an open issue', () => {
    expect(refusal(given(issue, [raised, closed]).when({ ...reopen, reason: '' }))).toEqual([
      'invalid',
      'reason',
    ]);
    expect(refusal(given(issue, [raised]).when(reopen))[0]).toBe('conflict');
  });

  it('keeps the escalation across a close and a reopen', () => {
    const history = historyOf([escalate, closeIssue, reopen], [raised]);
    expect(refusal(given(issue, history).when(escalate))).toEqual(['invalid', 'owner']);
  });
});

describe('asks of statutory bodies', () => {
  const toGovernment: Cmd<'EscalateIssue'> = {
    ...escalate,
    owner: 'government',
    reason: 'only the Scottish Government can change the guidance',
  };
  const toMacro: Cmd<'EscalateIssue'> = {
    type: 'EscalateIssue',
    issueId,
    level: 3,
    reason: 'it is national policy',
    at,
  };
  const askBody: Cmd<'AskStatutoryBody'> = {
    type: 'AskStatutoryBody',
    issueId,
    askId: 'a1',
    body: 'scottish-government',
    ask: 'change the debt recovery guidance so that recovery starts with a conversation',
    at,
  };
  const asked: IssueEvent = {
    type: 'IssueAskMade',
    data: { issueId, askId: 'a1', body: 'scottish-government', ask: askBody.ask, askedAt: at },
  };
  const outcome: Cmd<'RecordAskOutcome'> = {
    type: 'RecordAskOutcome',
    issueId,
    askId: 'a1',
    outcome: 'partly-agreed',
    response: 'the guidance will be reviewed next year',
    at: later,
  };
  const answered: IssueEvent = {
    type: 'IssueAskAnswered',
    data: {
      issueId,
      askId: 'a1',
      body: 'scottish-government',
      outcome: 'partly-agreed',
      response: outcome.response,
      answeredAt: later,
    },
  };
  const macro = historyOf([toMacro], [raised]);

  it('given an issue at level 2 owned by the team or leadership, when a body is asked, then a conflict', () => {
    const out = given(issue, [raised]).when(askBody);
    expect(refusal(out)[0]).toBe('conflict');
    expect((out as DomainError).message).toBe(
      'issue i1 is at level 2, owned by team: escalate it to level 3 or to government before asking a statutory body',
    );
    expect(refusal(given(issue, historyOf([escalate], [raised])).when(askBody))[0]).toBe('conflict');
  });

  it('given escalated to level 3, when a body is asked, then IssueAskMade', () => {
    expect(given(issue, macro).when(askBody)).toEqual([asked]);
  });

  it('given escalated to government (at level 2), when a body is asked, then IssueAskMade', () => {
    expect(given(issue, historyOf([toGovernment], [raised])).when(askBody)).toEqual([asked]);
  });

  it('given raised at level 3 or owned by government, a body can be asked without escalating', () => {
    expect(given(issue, historyOf([{ ...raise, level: 3 }])).when(askBody)).toEqual([asked]);
    expect(given(issue, historyOf([{ ...raise, level: 1, owner: 'government' }])).when(askBody)).toEqual([
      asked,
    ]);
  });

  it('given an ask, when the same askId is asked again, then a conflict, even of another body', () => {
    const history = [...macro, asked];
    const out = given(issue, history).when({ ...askBody, body: 'audit-scotland', ask: 'something else' });
    expect(refusal(out)[0]).toBe('conflict');
    expect((out as DomainError).message).toBe('ask a1 is already made');
    expect(refusal(given(issue, history).when({ ...askBody, askId: ' a1 ' }))[0]).toBe('conflict');
  });

  it('given an ask, when another askId is asked, then IssueAskMade: an issue can have many asks', () => {
    expect(given(issue, [...macro, asked]).when({ ...askBody, askId: 'a2', body: 'audit-scotland' })).toEqual(
      [{ ...asked, data: { ...asked.data, askId: 'a2', body: 'audit-scotland' } }],
    );
  });

  it.each([
    ['askId', { askId: ' ' }],
    ['body', { body: '' }],
    ['ask', { ask: '  ' }],
  ])('refuses an ask with no %s', (field, change) => {
    expect(refusal(given(issue, macro).when({ ...askBody, ...change }))).toEqual(['invalid', field]);
  });

  it('given a closed issue, when a body is asked, then a conflict: reopen it first', () => {
    const out = given(issue, historyOf([closeIssue], macro)).when(askBody);
    expect(refusal(out)[0]).toBe('conflict');
    expect((out as DomainError).message).toMatch(/is closed: reopen it/);
  });

  it.each([askBody, outcome] as IssueCommand[])('given no issue, when $type, then not found', (command) => {
    expect(refusal(given(issue).when(command))[0]).toBe('not-found');
  });

  it('given an ask, when its outcome is recorded, then IssueAskAnswered carrying the body asked', () => {
    expect(given(issue, [...macro, asked]).when(outcome)).toEqual([answered]);
  });

  it('records a later answer to the same ask', () => {
    const history = historyOf([outcome], [...macro, asked]);
    expect(
      given(issue, history).when({ ...outcome, outcome: 'done', response: 'the guidance changed' }),
    ).toEqual([
      { ...answered, data: { ...answered.data, outcome: 'done', response: 'the guidance changed' } },
    ]);
  });

  it('given an ask, when an outcome is recorded for an askId not made, then not found on askId', () => {
    const out = given(issue, [...macro, asked]).when({ ...outcome, askId: 'a2' });
    expect(refusal(out)).toEqual(['not-found', 'askId']);
    expect((out as DomainError).message).toBe('issue i1 has no ask a2');
    expect(refusal(given(issue, macro).when(outcome))).toEqual(['not-found', 'askId']);
  });

  it.each(['agreed', 'partly-agreed', 'declined', 'no-response', 'done'] as const)(
    'records the outcome %s',
    (value) => {
      const [e] = given(issue, [...macro, asked]).when({ ...outcome, outcome: value }) as IssueEvent[];
      expect(e).toEqual({ ...answered, data: { ...answered.data, outcome: value } });
    },
  );

  it('refuses an outcome not in ASK_OUTCOMES, and an empty response', () => {
    expect(
      refusal(given(issue, [...macro, asked]).when({ ...outcome, outcome: 'ignored' as 'declined' })),
    ).toEqual(['invalid', 'outcome']);
    expect(refusal(given(issue, [...macro, asked]).when({ ...outcome, response: ' ' }))).toEqual([
      'invalid',
      'response',
    ]);
  });

  it('given the issue closed, when an outcome is recorded, then IssueAskAnswered: an answer can come after', () => {
    const history = historyOf([closeIssue], [...macro, asked]);
    expect(given(issue, history).when(outcome)).toEqual([answered]);
  });

  it('keeps its asks across a close and a reopen', () => {
    const history = historyOf([closeIssue, reopen], [...macro, asked]);
    expect(refusal(given(issue, history).when(askBody))[0]).toBe('conflict');
    expect(given(issue, history).when(outcome)).toEqual([answered]);
  });
});
