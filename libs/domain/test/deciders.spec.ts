import { randomBytes } from 'node:crypto';
import { seal } from '@app/privacy';
import {
  ConsentEvent,
  consent,
  consentPermits,
  DomainError,
  PersonEvent,
  person,
  ReferralEvent,
  ReferralStatus,
  referral,
} from '../src';
import { given } from './given-when-then';

const key = randomBytes(32);
const s = (v: unknown) => seal(key, 'NE-1/identity/all', v);
const at = '2026-11-20T10:00:00.000Z';
const personal = {
  name: s('Kayleigh'),
  dateOfBirth: s('1990-04-01'),
  contact: s({}),
  whatMatters: s('my son'),
};
const registered: PersonEvent = {
  type: 'PersonRegistered',
  data: { personRef: 'NE-1', personal, registeredAt: at },
};

describe('a person at one partner', () => {
  it('given nothing, when registered, then PersonRegistered', () => {
    expect(given(person).when({ type: 'RegisterPerson', personRef: 'NE-1', personal, at })).toEqual([
      registered,
    ]);
  });

  it('given registered, when registered again, then a conflict', () => {
    const out = given(person, [registered]).when({
      type: 'RegisterPerson',
      personRef: 'NE-1',
      personal,
      at,
    });
    expect(out).toBeInstanceOf(DomainError);
    expect((out as DomainError).kind).toBe('conflict');
  });

  const contact = {
    type: 'RecordContact' as const,
    id: 'c1',
    kind: 'visit' as const,
    occurredAt: '2026-11-20T09:00:00.000Z',
    durationMinutes: 45,
    notes: null,
    at,
  };

  it('given registered, when a contact is recorded, then ContactRecorded', () => {
    const [{ type, data }] = given(person, [registered]).when(contact) as PersonEvent[];
    expect(type).toBe('ContactRecorded');
    expect(data).toMatchObject({ personRef: 'NE-1', contactId: 'c1', kind: 'visit', durationMinutes: 45 });
  });

  it('given nothing, when a contact is recorded, then not found', () => {
    expect((given(person).when(contact) as DomainError).kind).toBe('not-found');
  });

  it('given a contact, when the same record id comes again, then a conflict', () => {
    const first = given(person, [registered]).when(contact) as PersonEvent[];
    expect((given(person, [registered, ...first]).when(contact) as DomainError).kind).toBe('conflict');
  });

  it('given registered, when a contact is dated in the future, then invalid on occurredAt', () => {
    const out = given(person, [registered]).when({
      ...contact,
      occurredAt: '2026-11-21T09:00:00.000Z',
    }) as DomainError;
    expect([out.kind, out.field]).toEqual(['invalid', 'occurredAt']);
  });

  it('records support with its cost in pence, and refuses a negative cost', () => {
    const support = {
      type: 'RecordSupport' as const,
      id: 's1',
      kind: 'financial' as const,
      occurredAt: at,
      costPence: 9000,
      description: null,
      at,
    };
    const [e] = given(person, [registered]).when(support) as PersonEvent[];
    expect(e).toEqual({
      type: 'SupportGiven',
      data: {
        personRef: 'NE-1',
        supportId: 's1',
        kind: 'financial',
        occurredAt: at,
        costPence: 9000,
        description: null,
      },
    });
    expect((given(person, [registered]).when({ ...support, costPence: -1 }) as DomainError).field).toBe(
      'cost',
    );
  });

  it('maps the life system with each theme once, and records reflections only with words or measures', () => {
    const map = {
      type: 'MapLifeSystem' as const,
      id: 'm1',
      occurredAt: at,
      themes: ['debt', 'housing', 'debt'],
      map: s({}),
      at,
    };
    const [mapped] = given(person, [registered]).when(map) as PersonEvent[];
    expect((mapped.data as { themes: string[] }).themes).toEqual(['debt', 'housing']);
    const empty = {
      type: 'RecordReflection' as const,
      id: 'r1',
      occurredAt: at,
      text: null,
      measures: s([]),
      measureCount: 0,
      at,
    };
    expect((given(person, [registered]).when(empty) as DomainError).field).toBe('text');
    expect(given(person, [registered]).when({ ...empty, measureCount: 1 })).toHaveLength(1);
  });

  it('revises what matters, in the person’s words', () => {
    const [e] = given(person, [registered]).when({
      type: 'ReviseWhatMatters',
      whatMatters: s('my son'),
      at,
    }) as PersonEvent[];
    expect(e.type).toBe('WhatMattersRevised');
  });

  it('given a person was welcomed from a referral, when welcomed again, then nothing new', () => {
    const welcome = {
      type: 'WelcomePerson' as const,
      personRef: 'NE-1',
      via: { kind: 'referral' as const, referralId: 'r1', fromPartner: 'fresh-start' },
      at,
    };
    const [first] = given(person).when(welcome) as PersonEvent[];
    expect(first.type).toBe('PersonWelcomed');
    expect(given(person, [first]).when(welcome)).toEqual([]);
    expect(given(person, [first]).when(contact)).toHaveLength(1);
  });

  it('given erased, when anything more is recorded, then gone; erasing again changes nothing', () => {
    const [erased] = given(person, [registered]).when({
      type: 'ErasePerson',
      ground: 'person-request',
      at,
    }) as PersonEvent[];
    expect(erased).toEqual({
      type: 'PersonErased',
      data: { personRef: 'NE-1', ground: 'person-request', erasedAt: at },
    });
    expect((given(person, [registered, erased]).when(contact) as DomainError).kind).toBe('gone');
    expect(
      given(person, [registered, erased]).when({ type: 'ErasePerson', ground: 'person-request', at }),
    ).toEqual([]);
  });
});

describe('consent', () => {
  const give = {
    type: 'GiveConsent' as const,
    personRef: 'NE-1',
    consentId: 'k1',
    partners: ['spartans'],
    purposes: ['support'],
    validFrom: at,
    validUntil: null,
    at,
  };
  const given1: ConsentEvent = {
    type: 'ConsentGiven',
    data: {
      personRef: 'NE-1',
      consentId: 'k1',
      partners: ['spartans'],
      purposes: ['support'],
      validFrom: at,
      validUntil: null,
      givenAt: at,
    },
  };

  it('given nothing, when consent is given, then ConsentGiven', () => {
    expect(given(consent).when(give)).toEqual([given1]);
  });

  it('refuses a consent that ends before it starts', () => {
    expect(
      (given(consent).when({ ...give, validUntil: '2026-01-01T00:00:00.000Z' }) as DomainError).field,
    ).toBe('validUntil');
  });

  it('given consent, when withdrawn, then ConsentWithdrawn; withdrawn twice is a conflict', () => {
    const withdraw = { type: 'WithdrawConsent' as const, personRef: 'NE-1', consentId: 'k1', at };
    const [w] = given(consent, [given1]).when(withdraw) as ConsentEvent[];
    expect(w).toEqual({
      type: 'ConsentWithdrawn',
      data: { personRef: 'NE-1', consentId: 'k1', withdrawnAt: at },
    });
    expect((given(consent, [given1, w]).when(withdraw) as DomainError).kind).toBe('conflict');
    expect((given(consent).when(withdraw) as DomainError).kind).toBe('not-found');
  });

  it('permits only the named partner, for the named purpose, while in force', () => {
    const record = {
      consentId: 'k1',
      partners: ['spartans'],
      purposes: ['support'],
      validFrom: at,
      validUntil: '2027-01-01T00:00:00.000Z',
      withdrawnAt: null,
    };
    const now = new Date('2026-12-01T00:00:00Z');
    expect(consentPermits([record], 'spartans', 'support', now)).toBe(true);
    expect(consentPermits([record], 'north-edinburgh-arts', 'support', now)).toBe(false);
    expect(consentPermits([record], 'spartans', 'case-study', now)).toBe(false);
    expect(consentPermits([record], 'spartans', 'support', new Date('2026-11-01T00:00:00Z'))).toBe(false);
    expect(consentPermits([record], 'spartans', 'support', new Date('2027-02-01T00:00:00Z'))).toBe(false);
    expect(
      consentPermits([{ ...record, withdrawnAt: '2026-11-25T00:00:00.000Z' }], 'spartans', 'support', now),
    ).toBe(false);
    expect(consentPermits([], 'spartans', 'support', now)).toBe(false);
  });
});

describe('a referral', () => {
  const reason = s('wants to get back into football');
  const facts = {
    referralId: 'r1',
    personRef: 'NE-1',
    fromPartner: 'fresh-start',
    toOrganisation: 'spartans',
  };
  const request = { type: 'RequestReferral' as const, ...facts, reason, at };
  const requested: ReferralEvent = { type: 'ReferralRequested', data: { ...facts, reason, requestedAt: at } };
  const received: ReferralEvent = {
    type: 'ReferralReceived',
    data: { ...facts, requestedAt: at, receivedAt: at },
  };
  const move = (partner: string, status: ReferralStatus, why: unknown = null) => ({
    type: 'ChangeReferralStatus' as const,
    referralId: 'r1',
    partner,
    status,
    reason: why ? s(why) : null,
    at,
  });

  it('given nothing, when requested, then ReferralRequested', () => {
    expect(given(referral).when(request)).toEqual([requested]);
  });

  it('refuses a referral to oneself', () => {
    expect((given(referral).when({ ...request, toOrganisation: 'fresh-start' }) as DomainError).field).toBe(
      'toOrganisation',
    );
  });

  it('given received, when received again (a redelivery), then nothing new', () => {
    expect(
      given(referral, [received]).when({ type: 'ReceiveReferral', ...facts, requestedAt: at, at }),
    ).toEqual([]);
  });

  it('given received, when accepted by the recipient, then the status changes; accepting twice is a conflict', () => {
    const [a] = given(referral, [received]).when(move('spartans', 'accepted')) as ReferralEvent[];
    expect(a).toEqual({
      type: 'ReferralStatusChanged',
      data: { ...facts, status: 'accepted', side: 'recipient', reason: null, changedAt: at },
    });
    expect((given(referral, [received, a]).when(move('spartans', 'accepted')) as DomainError).kind).toBe(
      'conflict',
    );
  });

  it('walks the FHIR workflow: accepted, in progress, on hold (with a reason), completed; then no more', () => {
    const history: ReferralEvent[] = [received];
    for (const [status, why] of [
      ['accepted'],
      ['in-progress'],
      ['on-hold', 'waiting for a place'],
      ['in-progress'],
      ['completed'],
    ] as const) {
      const out = given(referral, history).when(move('spartans', status as ReferralStatus, why));
      expect(out).toHaveLength(1);
      history.push(...(out as ReferralEvent[]));
    }
    expect((given(referral, history).when(move('spartans', 'failed', 'x')) as DomainError).message).toMatch(
      /no longer change it/,
    );
  });

  it('requires a reason to reject, hold, cancel, fail or mark in error', () => {
    const out = given(referral, [received]).when(move('spartans', 'rejected')) as DomainError;
    expect([out.kind, out.field]).toEqual(['invalid', 'reason']);
    expect(
      given(referral, [received]).when(move('spartans', 'rejected', 'no places until spring')),
    ).toHaveLength(1);
  });

  it('lets each side make only its own moves', () => {
    // The referrer cancels; it cannot accept its own referral.
    expect(
      given(referral, [requested]).when(move('fresh-start', 'cancelled', 'the person moved away')),
    ).toHaveLength(1);
    expect((given(referral, [requested]).when(move('fresh-start', 'accepted')) as DomainError).kind).toBe(
      'conflict',
    );
    // The recipient cannot cancel; another partner cannot touch it at all.
    expect((given(referral, [received]).when(move('spartans', 'cancelled', 'x')) as DomainError).kind).toBe(
      'conflict',
    );
    expect((given(referral, [received]).when(move('move-on', 'accepted')) as DomainError).kind).toBe(
      'not-found',
    );
    expect((given(referral).when(move('spartans', 'accepted')) as DomainError).kind).toBe('not-found');
  });

  it('takes in the other side’s change once, and decides on it: a cancelled referral cannot be accepted', () => {
    const update = {
      type: 'ReceiveReferralUpdate' as const,
      referralId: 'r1',
      status: 'cancelled' as const,
      changedBy: 'fresh-start',
      changedAt: at,
      at,
    };
    const [u] = given(referral, [received]).when(update) as ReferralEvent[];
    expect(u.type).toBe('ReferralUpdateReceived');
    expect(given(referral, [received, u]).when(update)).toEqual([]);
    expect((given(referral, [received, u]).when(move('spartans', 'accepted')) as DomainError).kind).toBe(
      'conflict',
    );
  });
});
