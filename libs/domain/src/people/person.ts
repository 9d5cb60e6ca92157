import { Sealed } from '@app/privacy';
import { Decider, DomainEvent } from '../shared/aggregate';
import { refuse, unreachable } from '../shared/domain-error';

/**
 * A person's journey as one partner holds it, at the person scale. Stream: `person-<consortium reference>`.
 * Everything a worker records about their work with the person is an event here; what is personal arrives
 * already sealed under the person's keys, so this logic never sees it in the clear.
 */
export const personStream = (personRef: string) => `person-${personRef}`;

export const CONTACT_KINDS = ['visit', 'phone-call', 'message', 'drop-in'] as const;
export type ContactKind = (typeof CONTACT_KINDS)[number];

export const SUPPORT_KINDS = [
  'advice',
  'advocacy',
  'practical',
  'financial',
  'emotional',
  'activity',
  'other',
] as const;
export type SupportKind = (typeof SUPPORT_KINDS)[number];

export const ERASURE_GROUNDS = ['person-request', 'retention-ended'] as const;
export type ErasureGround = (typeof ERASURE_GROUNDS)[number];

/** What the person told us at registration, sealed before it reaches the decider. */
export interface PersonalDetails {
  name: Sealed;
  dateOfBirth: Sealed;
  contact: Sealed;
  whatMatters: Sealed;
}

/** How a person already on a journey came to another partner's door. */
export type Arrival =
  | { kind: 'referral'; referralId: string; fromPartner: string }
  | { kind: 'another-door' };

/** A record of work on the journey: each has an id of its own and happened at a time that is not the future. */
interface JourneyRecord {
  id: string;
  occurredAt: string;
  at: string;
}

export type PersonCommand =
  | { type: 'RegisterPerson'; personRef: string; personal: PersonalDetails; at: string }
  | { type: 'WelcomePerson'; personRef: string; via: Arrival; at: string }
  | { type: 'ReviseWhatMatters'; whatMatters: Sealed; at: string }
  | (JourneyRecord & {
      type: 'RecordContact';
      kind: ContactKind;
      durationMinutes: number;
      notes: Sealed | null;
    })
  | (JourneyRecord & {
      type: 'RecordSupport';
      kind: SupportKind;
      costPence: number;
      description: Sealed | null;
    })
  | (JourneyRecord & { type: 'MapLifeSystem'; themes: string[]; map: Sealed })
  | (JourneyRecord & {
      type: 'RecordReflection';
      text: Sealed | null;
      measures: Sealed;
      measureCount: number;
    })
  | (JourneyRecord & { type: 'RecordOutcome'; words: Sealed })
  | (JourneyRecord & { type: 'RecordWellbeing'; raw: number; metric: number; items: Sealed })
  | { type: 'ErasePerson'; ground: ErasureGround; at: string };

export type PersonEvent =
  | DomainEvent<'PersonRegistered', { personRef: string; personal: PersonalDetails; registeredAt: string }>
  | DomainEvent<'PersonWelcomed', { personRef: string; via: Arrival; welcomedAt: string }>
  | DomainEvent<'WhatMattersRevised', { personRef: string; whatMatters: Sealed; revisedAt: string }>
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
    >
  | DomainEvent<
      'SupportGiven',
      {
        personRef: string;
        supportId: string;
        kind: SupportKind;
        occurredAt: string;
        costPence: number;
        description: Sealed | null;
      }
    >
  /** The actors and factors of the person's life as a system, and how they relate; each mapping replaces the last. */
  | DomainEvent<
      'LifeSystemMapped',
      { personRef: string; mapId: string; occurredAt: string; themes: string[]; map: Sealed }
    >
  /** Journaling: free text and the measures the person chose, each on its own scale. */
  | DomainEvent<
      'ReflectionRecorded',
      { personRef: string; reflectionId: string; occurredAt: string; text: Sealed | null; measures: Sealed }
    >
  /** The person's own outcomes, in their words: evidence too. */
  | DomainEvent<
      'OutcomeRecorded',
      { personRef: string; outcomeId: string; occurredAt: string; words: Sealed }
    >
  | DomainEvent<
      'WellbeingMeasured',
      {
        personRef: string;
        measurementId: string;
        occurredAt: string;
        raw: number;
        metric: number;
        items: Sealed;
      }
    >
  /** Erasure: the person's keys were destroyed; nothing more is recorded about them. Counts stay. */
  | DomainEvent<'PersonErased', { personRef: string; ground: ErasureGround; erasedAt: string }>;

export type PersonState =
  | { status: 'unknown' }
  | { status: 'known'; personRef: string; recordIds: ReadonlySet<string> }
  | { status: 'erased'; personRef: string };

function known(state: PersonState): Extract<PersonState, { status: 'known' }> {
  if (state.status === 'erased')
    refuse('gone', `${state.personRef} was erased: nothing more can be recorded about them`);
  if (state.status !== 'known') {
    refuse(
      'not-found',
      'This person is not known to your organisation: register them, or welcome them first',
    );
  }
  return state as Extract<PersonState, { status: 'known' }>;
}

/** The checks every record of work shares: the person is known here, the record is new, it is not dated ahead. */
function newRecord(state: PersonState, command: JourneyRecord): string {
  const s = known(state);
  if (s.recordIds.has(command.id)) refuse('conflict', `record ${command.id} is already on the journey`);
  if (Date.parse(command.occurredAt) > Date.parse(command.at)) {
    refuse('invalid', 'this cannot be recorded before it has happened', 'occurredAt');
  }
  return s.personRef;
}

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
            data: { personRef: command.personRef, personal: command.personal, registeredAt: command.at },
          },
        ];
      case 'WelcomePerson':
        if (state.status === 'erased') return refuse('gone', `${state.personRef} was erased`);
        if (state.status === 'known') return []; // already known here: nothing new to record
        return [
          {
            type: 'PersonWelcomed',
            data: { personRef: command.personRef, via: command.via, welcomedAt: command.at },
          },
        ];
      case 'ReviseWhatMatters': {
        const { personRef } = known(state);
        return [
          {
            type: 'WhatMattersRevised',
            data: { personRef, whatMatters: command.whatMatters, revisedAt: command.at },
          },
        ];
      }
      case 'RecordContact': {
        const personRef = newRecord(state, command);
        const { id, kind, occurredAt, durationMinutes, notes } = command;
        return [
          {
            type: 'ContactRecorded',
            data: { personRef, contactId: id, kind, occurredAt, durationMinutes, notes },
          },
        ];
      }
      case 'RecordSupport': {
        const personRef = newRecord(state, command);
        if (!Number.isInteger(command.costPence) || command.costPence < 0) {
          refuse('invalid', 'cost must be a whole number of pence, zero or more', 'cost');
        }
        const { id, kind, occurredAt, costPence, description } = command;
        return [
          {
            type: 'SupportGiven',
            data: { personRef, supportId: id, kind, occurredAt, costPence, description },
          },
        ];
      }
      case 'MapLifeSystem': {
        const personRef = newRecord(state, command);
        const { id, occurredAt, themes, map } = command;
        return [
          {
            type: 'LifeSystemMapped',
            data: { personRef, mapId: id, occurredAt, themes: [...new Set(themes)], map },
          },
        ];
      }
      case 'RecordReflection': {
        const personRef = newRecord(state, command);
        if (!command.text && command.measureCount === 0) {
          refuse('invalid', 'a reflection needs some words or at least one measure', 'text');
        }
        const { id, occurredAt, text, measures } = command;
        return [
          { type: 'ReflectionRecorded', data: { personRef, reflectionId: id, occurredAt, text, measures } },
        ];
      }
      case 'RecordOutcome': {
        const personRef = newRecord(state, command);
        const { id, occurredAt, words } = command;
        return [{ type: 'OutcomeRecorded', data: { personRef, outcomeId: id, occurredAt, words } }];
      }
      case 'RecordWellbeing': {
        const personRef = newRecord(state, command);
        const { id, occurredAt, raw, metric, items } = command;
        return [
          {
            type: 'WellbeingMeasured',
            data: { personRef, measurementId: id, occurredAt, raw, metric, items },
          },
        ];
      }
      case 'ErasePerson': {
        if (state.status === 'unknown')
          return refuse('not-found', 'This person is not known to this partner');
        if (state.status === 'erased') return [];
        return [
          {
            type: 'PersonErased',
            data: { personRef: state.personRef, ground: command.ground, erasedAt: command.at },
          },
        ];
      }
      default:
        return unreachable(command);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'PersonRegistered':
      case 'PersonWelcomed':
        return { status: 'known', personRef: event.data.personRef, recordIds: new Set() };
      case 'PersonErased':
        return { status: 'erased', personRef: event.data.personRef };
      case 'WhatMattersRevised':
        return state;
      case 'ContactRecorded':
      case 'SupportGiven':
      case 'LifeSystemMapped':
      case 'ReflectionRecorded':
      case 'OutcomeRecorded':
      case 'WellbeingMeasured':
        if (state.status !== 'known') return state;
        return { ...state, recordIds: new Set([...state.recordIds, recordIdOf(event)]) };
      default:
        return unreachable(event);
    }
  },
};

type JourneyRecordEvent = Extract<
  PersonEvent,
  {
    type:
      | 'ContactRecorded'
      | 'SupportGiven'
      | 'LifeSystemMapped'
      | 'ReflectionRecorded'
      | 'OutcomeRecorded'
      | 'WellbeingMeasured';
  }
>;

export function recordIdOf(event: JourneyRecordEvent): string {
  switch (event.type) {
    case 'ContactRecorded':
      return event.data.contactId;
    case 'SupportGiven':
      return event.data.supportId;
    case 'LifeSystemMapped':
      return event.data.mapId;
    case 'ReflectionRecorded':
      return event.data.reflectionId;
    case 'OutcomeRecorded':
      return event.data.outcomeId;
    case 'WellbeingMeasured':
      return event.data.measurementId;
    default:
      return unreachable(event);
  }
}
