import { ConsentEvent } from './consent/consent';
import { IssueEvent } from './issue-log/issue';
import { LearningCycleEvent } from './learning-cycles/learning-cycle';
import { TeamReflectionEvent } from './learning-cycles/team-reflection';
import { PersonEvent } from './people/person';
import { ReferralEvent } from './referrals/referral';
import { Decider } from './shared/aggregate';

/** Every event the platform records. docs/event-catalogue.md describes each: fields, scale, who may see it. */
export type PlatformEvent =
  | PersonEvent
  | ConsentEvent
  | ReferralEvent
  | LearningCycleEvent
  | TeamReflectionEvent
  | IssueEvent;
export type PlatformEventType = PlatformEvent['type'];

/** The schema version of each event type this code writes and reads. A consumer refuses anything else. */
export const EVENT_SCHEMA_VERSIONS: Record<PlatformEventType, number> = {
  PersonRegistered: 1,
  PersonWelcomed: 1,
  WhatMattersRevised: 1,
  ContactRecorded: 1,
  SupportGiven: 1,
  LifeSystemMapped: 1,
  ReflectionRecorded: 1,
  OutcomeRecorded: 1,
  WellbeingMeasured: 1,
  PersonErased: 1,
  ConsentGiven: 1,
  ConsentWithdrawn: 1,
  ReferralRequested: 1,
  ReferralReceived: 1,
  ReferralStatusChanged: 1,
  ReferralUpdateReceived: 1,
  LearningCycleConvened: 1,
  CyclePurposeSet: 1,
  SystemUnderstandingRecorded: 1,
  ExperimentDesigned: 1,
  ExperimentStarted: 1,
  ExperimentLearningRecorded: 1,
  ExperimentConcluded: 1,
  EmbeddingRecorded: 1,
  InfluencingRecorded: 1,
  CycleManagementRecorded: 1,
  CycleGovernanceRecorded: 1,
  CyclesLinked: 1,
  LearningCycleClosed: 1,
  ReflectiveSessionHeld: 1,
  IssueRaised: 1,
  IssueCountermeasureSet: 1,
  IssueSystemChangeSet: 1,
  IssueEscalated: 1,
  IssueEvidenceLinked: 1,
  IssueClosed: 1,
  IssueReopened: 1,
  IssueAskMade: 1,
  IssueAskAnswered: 1,
};

export function isKnownEvent(type: string, schemaVersion: number): type is PlatformEventType {
  return EVENT_SCHEMA_VERSIONS[type as PlatformEventType] === schemaVersion;
}

/** Who recorded a command's events, about what, and when: the metadata every event carries besides its scale. */
export interface Recording {
  partner: string;
  actor: string;
  correlationId: string;
  causationId?: string;
  /** What the events are about (a person's reference, a cycle's id): the Kafka key, so they stay in order. */
  subject: string;
  /** When it happened in the world, as the command said. */
  occurredAt: string;
}

/** An event as a decider returned it, made ready for the store: its id, schema version and metadata. */
export function asRecorded<E extends PlatformEvent>(
  decider: Pick<Decider<never, E, unknown>, 'scale' | 'scaleOf'>,
  event: E,
  by: Recording,
  id: string,
) {
  return {
    id,
    type: event.type,
    schemaVersion: EVENT_SCHEMA_VERSIONS[event.type as PlatformEventType],
    data: event.data,
    metadata: {
      partner: by.partner,
      scale: decider.scaleOf?.(event) ?? decider.scale,
      actor: by.actor,
      correlationId: by.correlationId,
      ...(by.causationId ? { causationId: by.causationId } : {}),
      subject: by.subject,
      occurredAt: by.occurredAt,
    },
  };
}
