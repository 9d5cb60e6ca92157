import { Decider, DomainEvent } from '../shared/aggregate';
import { refuse, unreachable } from '../shared/domain-error';

/**
 * Consent is given by the person and recorded by a worker: to which partners, for which purposes, from when,
 * until when. It is a stream of its own per person at the recording partner: `consent-<consortium reference>`.
 */
export const consentStream = (personRef: string) => `consent-${personRef}`;

export type ConsentCommand =
  | {
      type: 'GiveConsent';
      personRef: string;
      consentId: string;
      partners: string[];
      purposes: string[];
      validFrom: string;
      validUntil: string | null;
      at: string;
    }
  | { type: 'WithdrawConsent'; personRef: string; consentId: string; at: string };

export type ConsentEvent =
  | DomainEvent<
      'ConsentGiven',
      {
        personRef: string;
        consentId: string;
        partners: string[];
        purposes: string[];
        validFrom: string;
        validUntil: string | null;
        givenAt: string;
      }
    >
  | DomainEvent<'ConsentWithdrawn', { personRef: string; consentId: string; withdrawnAt: string }>;

export interface ConsentState {
  /** Consents given and not withdrawn, by id. */
  active: ReadonlyMap<string, { partners: string[]; purposes: string[] }>;
  withdrawn: ReadonlySet<string>;
}

export const consent: Decider<ConsentCommand, ConsentEvent, ConsentState> = {
  scale: 'person',
  initialState: { active: new Map(), withdrawn: new Set() },

  decide(command, state) {
    switch (command.type) {
      case 'GiveConsent': {
        if (state.active.has(command.consentId) || state.withdrawn.has(command.consentId)) {
          refuse('conflict', `consent ${command.consentId} is already recorded`);
        }
        if (command.validUntil && Date.parse(command.validUntil) <= Date.parse(command.validFrom)) {
          refuse('invalid', 'consent must end after it starts', 'validUntil');
        }
        const { type: _, at, ...given } = command;
        return [{ type: 'ConsentGiven', data: { ...given, givenAt: at } }];
      }
      case 'WithdrawConsent':
        if (state.withdrawn.has(command.consentId)) refuse('conflict', 'this consent was already withdrawn');
        if (!state.active.has(command.consentId))
          refuse('not-found', `there is no consent ${command.consentId} for this person`);
        return [
          {
            type: 'ConsentWithdrawn',
            data: { personRef: command.personRef, consentId: command.consentId, withdrawnAt: command.at },
          },
        ];
      default:
        return unreachable(command);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'ConsentGiven': {
        const active = new Map(state.active);
        active.set(event.data.consentId, { partners: event.data.partners, purposes: event.data.purposes });
        return { ...state, active };
      }
      case 'ConsentWithdrawn': {
        const active = new Map(state.active);
        active.delete(event.data.consentId);
        return { active, withdrawn: new Set([...state.withdrawn, event.data.consentId]) };
      }
      default:
        return unreachable(event);
    }
  },
};

/** A consent as the views hold it. */
export interface ConsentRecord {
  consentId: string;
  partners: string[];
  purposes: string[];
  validFrom: string;
  validUntil: string | null;
  withdrawnAt: string | null;
}

/**
 * No consent, no sharing: does any consent in force at `at` let `partner` use the person's data for `purpose`?
 * The one rule every view asks.
 */
export function consentPermits(
  consents: ConsentRecord[],
  partner: string,
  purpose: string,
  at: Date,
): boolean {
  const t = at.getTime();
  return consents.some(
    (c) =>
      c.partners.includes(partner) &&
      c.purposes.includes(purpose) &&
      Date.parse(c.validFrom) <= t &&
      (c.validUntil === null || Date.parse(c.validUntil) > t) &&
      (c.withdrawnAt === null || Date.parse(c.withdrawnAt) > t),
  );
}
