import { DomainError } from '../src';
import {
  EvidencePackCommand,
  EvidencePackEvent,
  evidencePack,
  evidencePackStream,
} from '../src/evidence/evidence-pack';
import { given } from './given-when-then';

const at = '2027-01-10T10:00:00.000Z';
const later = '2027-01-20T10:00:00.000Z';
const packId = 'pack-2026-q4';

type Cmd<T extends EvidencePackCommand['type']> = Extract<EvidencePackCommand, { type: T }>;

function refusal(out: unknown): [string, string | undefined] {
  expect(out).toBeInstanceOf(DomainError);
  return [(out as DomainError).kind, (out as DomainError).field];
}

/** The events a run of accepted commands leaves behind. */
function historyOf(commands: EvidencePackCommand[], history: EvidencePackEvent[] = []): EvidencePackEvent[] {
  const events = [...history];
  for (const command of commands) {
    const out = given(evidencePack, events).when(command);
    if (out instanceof DomainError) throw out;
    events.push(...out);
  }
  return events;
}

const freshStart = { partner: 'fresh-start', user: 'biddy.kelly' };
const council = { partner: 'north-east-council', user: 'sam.reid' };
const nhs = { partner: 'nhs-grampian', user: 'ali.khan' };

const contents = { figures: [{ measure: 'people-supported', value: 120 }], suppressed: ['arrears-cleared'] };

const compose: Cmd<'ComposeEvidencePack'> = {
  type: 'ComposeEvidencePack',
  packId,
  body: 'scottish-government',
  period: { from: '2026-10-01', to: '2026-12-31' },
  composedBy: freshStart,
  approvalsNeeded: 2,
  contents,
  at,
};
const composed: EvidencePackEvent = {
  type: 'EvidencePackComposed',
  data: {
    packId,
    body: 'scottish-government',
    period: { from: '2026-10-01', to: '2026-12-31' },
    composedBy: freshStart,
    approvalsNeeded: 2,
    contents,
    composedAt: at,
  },
};
const approve: Cmd<'ApproveEvidencePack'> = { type: 'ApproveEvidencePack', packId, by: council, at: later };
const approved: EvidencePackEvent = {
  type: 'EvidencePackApproved',
  data: { packId, by: council, approvedAt: later },
};
const decline: Cmd<'DeclineEvidencePack'> = {
  type: 'DeclineEvidencePack',
  packId,
  by: nhs,
  reason: 'the arrears figure needs the December data',
  at: later,
};
const publish: Cmd<'PublishEvidencePack'> = {
  type: 'PublishEvidencePack',
  packId,
  by: freshStart,
  digest: 'a'.repeat(64),
  signature: 'c2lnbmF0dXJl',
  keyId: 'consortium-2026',
  at: later,
};
const published: EvidencePackEvent = {
  type: 'EvidencePackPublished',
  data: {
    packId,
    body: 'scottish-government',
    by: freshStart,
    digest: 'a'.repeat(64),
    signature: 'c2lnbmF0dXJl',
    keyId: 'consortium-2026',
    publishedAt: later,
  },
};

describe('composing an evidence pack', () => {
  it('given nothing, when composed, then EvidencePackComposed with its contents, in evidence-pack-<id>', () => {
    expect(given(evidencePack).when(compose)).toEqual([composed]);
    expect(evidencePackStream('p1')).toBe('evidence-pack-p1');
    expect(evidencePack.scale).toBe('place');
  });

  it('given composed, when composed again, then a conflict', () => {
    const out = given(evidencePack, [composed]).when(compose);
    expect(refusal(out)[0]).toBe('conflict');
    expect((out as DomainError).message).toMatch(/already exists/);
  });

  it('composes a pack for a period of one day, and one ending on the day it is composed', () => {
    expect(
      given(evidencePack).when({ ...compose, period: { from: '2027-01-10', to: '2027-01-10' } }),
    ).toEqual([
      { ...composed, data: { ...composed.data, period: { from: '2027-01-10', to: '2027-01-10' } } },
    ]);
  });

  it.each([
    ['a quarter name', { from: '2026 Q4', to: '2026-12-31' }],
    ['a timestamp', { from: '2026-10-01', to: '2026-12-31T23:59:59Z' }],
    ['day first', { from: '01-10-2026', to: '31-12-2026' }],
    ['an empty end', { from: '2026-10-01', to: '' }],
  ])('refuses a period that is not two dates: %s', (_, period) => {
    const out = given(evidencePack).when({ ...compose, period });
    expect(refusal(out)).toEqual(['invalid', 'period']);
    expect((out as DomainError).message).toBe('the period is two dates');
  });

  it('refuses a period that ends before it starts', () => {
    const out = given(evidencePack).when({ ...compose, period: { from: '2026-12-31', to: '2026-10-01' } });
    expect(refusal(out)).toEqual(['invalid', 'period.to']);
    expect((out as DomainError).message).toBe('the period ends before it starts');
  });

  it('refuses a period that ends after the day the command is made', () => {
    const out = given(evidencePack).when({ ...compose, period: { from: '2026-10-01', to: '2027-01-11' } });
    expect(refusal(out)).toEqual(['invalid', 'period.to']);
    expect((out as DomainError).message).toBe('the period cannot end in the future');
    // The same period is fine when the command is made a day later.
    expect(
      given(evidencePack).when({
        ...compose,
        period: { from: '2026-10-01', to: '2027-01-11' },
        at: '2027-01-11T00:00:00.000Z',
      }),
    ).toHaveLength(1);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses approvalsNeeded of %s', (approvalsNeeded) => {
    expect(refusal(given(evidencePack).when({ ...compose, approvalsNeeded }))).toEqual([
      'invalid',
      'approvalsNeeded',
    ]);
  });

  it.each([{ ...approve }, { ...decline }, { ...publish }] as EvidencePackCommand[])(
    'given no pack, when $type, then not found',
    (command) => {
      const out = given(evidencePack).when(command);
      expect(refusal(out)[0]).toBe('not-found');
      expect((out as DomainError).message).toBe(`there is no evidence pack ${packId}`);
    },
  );
});

describe('approving an evidence pack', () => {
  it("given composed, when another partner's steward approves, then EvidencePackApproved", () => {
    expect(given(evidencePack, [composed]).when(approve)).toEqual([approved]);
  });

  it("counts the composer's partner as the first approval: it cannot approve again", () => {
    const out = given(evidencePack, [composed]).when({
      ...approve,
      by: { partner: 'fresh-start', user: 'another.steward' },
    });
    expect(refusal(out)[0]).toBe('conflict');
    expect((out as DomainError).message).toBe(`fresh-start has already approved evidence pack ${packId}`);
  });

  it('given approved by a partner, when the same partner approves again (any steward), then a conflict', () => {
    const out = given(evidencePack, [composed, approved]).when({
      ...approve,
      by: { partner: 'north-east-council', user: 'someone.else' },
    });
    expect(refusal(out)[0]).toBe('conflict');
    expect((out as DomainError).message).toBe(
      `north-east-council has already approved evidence pack ${packId}`,
    );
  });

  it('takes approvals beyond the number needed, while the pack is not yet published', () => {
    const history = historyOf([approve], [composed]);
    expect(given(evidencePack, history).when({ ...approve, by: nhs })).toEqual([
      { type: 'EvidencePackApproved', data: { packId, by: nhs, approvedAt: later } },
    ]);
  });
});

describe('publishing an evidence pack', () => {
  it('given only the composer approved and two needed, when published, then a conflict naming one more', () => {
    const out = given(evidencePack, [composed]).when(publish);
    expect(refusal(out)[0]).toBe('conflict');
    expect((out as DomainError).message).toBe(
      `evidence pack ${packId} needs 1 more approval before it is published (approved so far by fresh-start)`,
    );
  });

  it('names how many more approvals are needed, in the plural', () => {
    const needsThree = historyOf([{ ...compose, approvalsNeeded: 3 }]);
    expect((given(evidencePack, needsThree).when(publish) as DomainError).message).toBe(
      `evidence pack ${packId} needs 2 more approvals before it is published (approved so far by fresh-start)`,
    );
    const oneMore = historyOf([approve], needsThree);
    const out = given(evidencePack, oneMore).when(publish);
    expect(refusal(out)[0]).toBe('conflict');
    expect((out as DomainError).message).toBe(
      `evidence pack ${packId} needs 1 more approval before it is published (approved so far by fresh-start, north-east-council)`,
    );
    expect(given(evidencePack, historyOf([{ ...approve, by: nhs }], oneMore)).when(publish)).toEqual([
      published,
    ]);
  });

  it('given approvals reach the number needed, when published, then EvidencePackPublished with the body composed', () => {
    expect(given(evidencePack, [composed, approved]).when(publish)).toEqual([published]);
  });

  it("given one approval needed, the composer's is enough to publish", () => {
    const history = historyOf([{ ...compose, approvalsNeeded: 1 }]);
    expect(given(evidencePack, history).when(publish)).toEqual([published]);
  });

  it('carries the body from the composed event, not from anything in the publish command', () => {
    const history = historyOf([{ ...compose, body: 'audit-scotland' }, approve]);
    const [event] = given(evidencePack, history).when({
      ...publish,
      body: 'scottish-government',
    } as Cmd<'PublishEvidencePack'>) as EvidencePackEvent[];
    expect(event).toEqual({ ...published, data: { ...published.data, body: 'audit-scotland' } });
  });
});

describe('declining an evidence pack', () => {
  it('given composed, when declined with a reason, then EvidencePackDeclined (reason trimmed)', () => {
    expect(given(evidencePack, [composed]).when({ ...decline, reason: `  ${decline.reason} ` })).toEqual([
      {
        type: 'EvidencePackDeclined',
        data: { packId, by: nhs, reason: decline.reason, declinedAt: later },
      },
    ]);
  });

  it('declines a pack that already has the approvals it needs, before it is published', () => {
    expect(given(evidencePack, [composed, approved]).when(decline)).toHaveLength(1);
  });

  it.each(['', '   ', undefined])('requires a reason: %p', (reason) => {
    const out = given(evidencePack, [composed]).when({ ...decline, reason: reason as string });
    expect(refusal(out)).toEqual(['invalid', 'reason']);
    expect((out as DomainError).message).toBe('say why');
  });
});

describe('a pack published or declined cannot change any more', () => {
  const declined: EvidencePackEvent = {
    type: 'EvidencePackDeclined',
    data: { packId, by: nhs, reason: decline.reason, declinedAt: later },
  };

  it.each([{ ...approve, by: nhs }, { ...decline }, { ...publish }] as EvidencePackCommand[])(
    'given published, when $type, then a conflict',
    (command) => {
      const out = given(evidencePack, [composed, approved, published]).when(command);
      expect(refusal(out)[0]).toBe('conflict');
      expect((out as DomainError).message).toBe(
        `evidence pack ${packId} is published: it cannot change any more`,
      );
    },
  );

  it.each([{ ...approve }, { ...decline }, { ...publish }] as EvidencePackCommand[])(
    'given declined, when $type, then a conflict',
    (command) => {
      const out = given(evidencePack, [composed, declined]).when(command);
      expect(refusal(out)[0]).toBe('conflict');
      expect((out as DomainError).message).toBe(
        `evidence pack ${packId} is declined: it cannot change any more`,
      );
    },
  );

  it('given declined with enough approvals, when published, then a conflict: declined is final', () => {
    const out = given(evidencePack, [composed, approved, declined]).when(publish);
    expect((out as DomainError).message).toBe(
      `evidence pack ${packId} is declined: it cannot change any more`,
    );
  });

  it('given published or declined, when composed again under the same id, then a conflict', () => {
    expect(refusal(given(evidencePack, [composed, approved, published]).when(compose))[0]).toBe('conflict');
    expect(refusal(given(evidencePack, [composed, declined]).when(compose))[0]).toBe('conflict');
  });
});
