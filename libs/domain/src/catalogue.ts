import { ConsentEvent } from './consent/consent';
import { IssueEvent } from './issue-log/issue';
import { LearningCycleEvent } from './learning-cycles/learning-cycle';
import { TeamReflectionEvent } from './learning-cycles/team-reflection';
import { PersonEvent } from './people/person';
import { ReferralEvent } from './referrals/referral';

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
