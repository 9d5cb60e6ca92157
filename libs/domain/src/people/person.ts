import { Sealed } from '@app/privacy';
import { Decider, DomainEvent } from '../shared/aggregate';
import { refuse, unreachable } from '../shared/domain-error';

/** A person's journey as one partner holds it: the person scale. Stream: `person-<consortium reference>`. */
export const personStream = (personRef: string) => `person-${personRef}`;

export const CONTACT_KINDS = ['visit', 'phone-call', 'message', 'drop-in'] as const;
export type ContactKind = (typeof CONTACT_KINDS)[number];

/** What the person told us, sealed under their key before it reaches the decider. */
export interface PersonalDetails {
  name: Sealed;
  dateOfBirth: Sealed;
  contact: Sealed;
  whatMatters: Sealed;
}

export type PersonCommand =
  | {
      type: 'RegisterPerson';
      personRef: string;
      personal: PersonalDetails;
      at: string;
    }
  | { type: 'WelcomeReferredPerson'; personRef: string; referralId: string; fromPartner: string; at: string }
  | {
      type: 'RecordContact';
      contactId: string;
      kind: ContactKind;
      occurredAt: string;
      durationMinutes: number;
      notes: Sealed | null;
      at: string;
    };

export type PersonEvent =
  | DomainEvent<'PersonRegistered', { personRef: string; personal: PersonalDetails; registeredAt: string }>
  | DomainEvent<
      'ReferredPersonWelcomed',
      { personRef: string; referralId: string; fromPartner: string; welcomedAt: string }
    >
  | DomainEvent<
      'ContactRecorded',
      {
        personRef: string;
        contactId: string;
        kind: ContactKind;
        occurredAt: string;
        durationMinutes: number;
        notes: Sealed | null;
      }
    >;

export type PersonState =
  | { status: 'unknown' }
  | { status: 'known'; personRef: string; contactIds: ReadonlySet<string> };

export const person: Decider<PersonCommand, PersonEvent, PersonState> = {
  scale: 'person',
  initialState: { status: 'unknown' },

  decide(command, state) {
    switch (command.type) {
      case 'RegisterPerson':
        if (state.status !== 'unknown') refuse('conflict', `${command.personRef} is already registered here`);
        return [
          {
            type: 'PersonRegistered',
            data: {
              personRef: command.personRef,
              personal: command.personal,
              registeredAt: command.at,
            },
          },
        ];
      case 'WelcomeReferredPerson':
        if (state.status !== 'unknown') return []; // already known here: nothing new to record
        return [
          {
            type: 'ReferredPersonWelcomed',
            data: {
              personRef: command.personRef,
              referralId: command.referralId,
              fromPartner: command.fromPartner,
              welcomedAt: command.at,
            },
          },
        ];
      case 'RecordContact': {
        if (state.status !== 'known') {
          return refuse(
            'not-found',
            'This person is not known to your organisation: register them or accept a referral first',
          );
        }
        if (state.contactIds.has(command.contactId))
          refuse('conflict', `contact ${command.contactId} is already recorded`);
        if (Date.parse(command.occurredAt) > Date.parse(command.at)) {
          refuse('invalid', 'a contact cannot be recorded before it has happened', 'occurredAt');
        }
        const { type: _, at: __, ...contact } = command;
        return [{ type: 'ContactRecorded', data: { personRef: state.personRef, ...contact } }];
      }
      default:
        return unreachable(command);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'PersonRegistered':
      case 'ReferredPersonWelcomed':
        return { status: 'known', personRef: event.data.personRef, contactIds: new Set() };
      case 'ContactRecorded':
        if (state.status !== 'known') return state;
        return { ...state, contactIds: new Set([...state.contactIds, event.data.contactId]) };
      default:
        return unreachable(event);
    }
  },
};
