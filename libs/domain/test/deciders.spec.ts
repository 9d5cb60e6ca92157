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
    contactId: 'c1',
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

  it('given registered, when a contact is dated in the future, then invalid on occurredAt', () => {
    const out = given(person, [registered]).when({
      ...contact,
      occurredAt: '2026-11-21T09:00:00.000Z',
    }) as DomainError;
    expect([out.kind, out.field]).toEqual(['invalid', 'occurredAt']);
  });

  it('given a referred person was welcomed, when welcomed again, then nothing new', () => {
    const welcome = {
      type: 'WelcomeReferredPerson' as const,
      personRef: 'NE-1',
      referralId: 'r1',
      fromPartner: 'fresh-start',
      at,
    };
    const [first] = given(person).when(welcome) as PersonEvent[];
    expect(first.type).toBe('ReferredPersonWelcomed');
    expect(given(person, [first]).when(welcome)).toEqual([]);
    expect(given(person, [first]).when(contact)).toHaveLength(1);
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
  const request = {
    type: 'RequestReferral' as const,
    referralId: 'r1',
    personRef: 'NE-1',
    fromPartner: 'fresh-start',
    toOrganisation: 'spartans',
    reason,
    at,
  };
  const received: ReferralEvent = {
    type: 'ReferralReceived',
    data: {
      referralId: 'r1',
      personRef: 'NE-1',
      fromPartner: 'fresh-start',
      toOrganisation: 'spartans',
      requestedAt: at,
      receivedAt: at,
    },
  };
  const accept = { type: 'AcceptReferral' as const, referralId: 'r1', partner: 'spartans', at };

  it('given nothing, when requested, then ReferralRequested', () => {
    expect(given(referral).when(request)).toEqual([
      {
        type: 'ReferralRequested',
        data: {
          referralId: 'r1',
          personRef: 'NE-1',
          fromPartner: 'fresh-start',
          toOrganisation: 'spartans',
          reason,
          requestedAt: at,
        },
      },
    ]);
  });

  it('refuses a referral to oneself', () => {
    expect((given(referral).when({ ...request, toOrganisation: 'fresh-start' }) as DomainError).field).toBe(
      'toOrganisation',
    );
  });

  it('given received, when received again (a redelivery), then nothing new', () => {
    const receive = { ...received.data, type: 'ReceiveReferral' as const, at };
    expect(given(referral, [received]).when(receive)).toEqual([]);
  });

  it('given received, when accepted by the recipient, then ReferralAccepted; twice is a conflict', () => {
    const [a] = given(referral, [received]).when(accept) as ReferralEvent[];
    expect(a).toEqual({
      type: 'ReferralAccepted',
      data: { referralId: 'r1', personRef: 'NE-1', acceptedAt: at },
    });
    expect((given(referral, [received, a]).when(accept) as DomainError).kind).toBe('conflict');
  });

  it('cannot be accepted by anyone but the recipient, nor before it arrived', () => {
    expect((given(referral).when(accept) as DomainError).kind).toBe('not-found');
    expect((given(referral, [received]).when({ ...accept, partner: 'move-on' }) as DomainError).kind).toBe(
      'not-found',
    );
  });
});
