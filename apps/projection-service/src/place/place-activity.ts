import { PlatformEvent, unreachable } from '@app/domain';
import { EntityManager } from 'typeorm';

/**
 * The place's activity kept as it happens, one row per partner, person and day: enough for every aggregate a
 * steward or a pack needs (people supported, contacts, visits, calls, time, money) without going back over the
 * events. A year of a busy place is a few hundred thousand rows, not millions of events.
 */
export const PLACE_ACTIVITY_MIGRATION = `
  CREATE TABLE {schema}.place_activity (
    partner text NOT NULL, person_ref text NOT NULL, day date NOT NULL, entries int NOT NULL, contacts int NOT NULL,
    visits int NOT NULL, calls int NOT NULL, contact_minutes int NOT NULL, cost_pence bigint NOT NULL,
    PRIMARY KEY (day, partner, person_ref));
  CREATE INDEX journey_entries_wellbeing ON {schema}.journey_entries (occurred_at) WHERE event_type = 'WellbeingMeasured';
  CREATE INDEX referrals_requested ON {schema}.referrals (requested_at);
  CREATE INDEX referrals_person ON {schema}.referrals (person_ref, to_organisation);
  ${activityFromJourney('{schema}')};`;

/**
 * The place's activity summed from the journey entries: every journey entry but an erasure is work with or for
 * the person that day, as `activityOf` counts it. A rebuild's load fills the table this way, once, after the
 * entries are in (the same rows as adding each batch's activity, for a fraction of the work).
 */
export function activityFromJourney(schema: string): string {
  return `INSERT INTO ${schema}.place_activity
  SELECT partner, person_ref, (occurred_at AT TIME ZONE 'UTC')::date, count(*),
         count(*) FILTER (WHERE event_type = 'ContactRecorded'),
         count(*) FILTER (WHERE event_type = 'ContactRecorded' AND details->>'kind' = 'visit'),
         count(*) FILTER (WHERE event_type = 'ContactRecorded' AND details->>'kind' = 'phone-call'),
         coalesce(sum((details->>'durationMinutes')::int) FILTER (WHERE event_type = 'ContactRecorded'), 0),
         coalesce(sum((details->>'costPence')::int) FILTER (WHERE event_type = 'SupportGiven'), 0)
    FROM ${schema}.journey_entries WHERE event_type <> 'PersonErased' GROUP BY 1, 2, 3`;
}

export interface Activity {
  partner: string;
  personRef: string;
  /** YYYY-MM-DD, in UTC. */
  day: string;
  contacts: number;
  visits: number;
  calls: number;
  contactMinutes: number;
  costPence: number;
}

/** What one event adds to the place's activity: work with or for a person, on the day it happened. */
export function activityOf(partner: string, event: PlatformEvent): Activity | null {
  const at = (personRef: string, when: string, extra: Partial<Activity> = {}): Activity => ({
    partner,
    personRef,
    day: when.slice(0, 10),
    contacts: 0,
    visits: 0,
    calls: 0,
    contactMinutes: 0,
    costPence: 0,
    ...extra,
  });
  switch (event.type) {
    case 'ContactRecorded': {
      const d = event.data;
      return at(d.personRef, new Date(d.occurredAt).toISOString(), {
        contacts: 1,
        visits: d.kind === 'visit' ? 1 : 0,
        calls: d.kind === 'phone-call' ? 1 : 0,
        contactMinutes: d.durationMinutes ?? 0,
      });
    }
    case 'SupportGiven':
      return at(event.data.personRef, new Date(event.data.occurredAt).toISOString(), {
        costPence: event.data.costPence ?? 0,
      });
    case 'LifeSystemMapped':
    case 'ReflectionRecorded':
    case 'OutcomeRecorded':
    case 'WellbeingMeasured':
      return at(event.data.personRef, new Date(event.data.occurredAt).toISOString());
    case 'PersonRegistered':
      return at(event.data.personRef, new Date(event.data.registeredAt).toISOString());
    case 'PersonWelcomed':
      return at(event.data.personRef, new Date(event.data.welcomedAt).toISOString());
    case 'WhatMattersRevised':
      return at(event.data.personRef, new Date(event.data.revisedAt).toISOString());
    case 'ConsentGiven':
      return at(event.data.personRef, new Date(event.data.givenAt).toISOString());
    case 'ConsentWithdrawn':
      return at(event.data.personRef, new Date(event.data.withdrawnAt).toISOString());
    case 'ReferralRequested':
      return at(event.data.personRef, new Date(event.data.requestedAt).toISOString());
    case 'ReferralStatusChanged':
      return at(event.data.personRef, new Date(event.data.changedAt).toISOString());
    case 'PersonErased':
    case 'ReferralReceived':
    case 'ReferralUpdateReceived':
    case 'LearningCycleConvened':
    case 'CyclePurposeSet':
    case 'SystemUnderstandingRecorded':
    case 'ExperimentDesigned':
    case 'ExperimentStarted':
    case 'ExperimentLearningRecorded':
    case 'ExperimentConcluded':
    case 'EmbeddingRecorded':
    case 'InfluencingRecorded':
    case 'CycleManagementRecorded':
    case 'CycleGovernanceRecorded':
    case 'CyclesLinked':
    case 'LearningCycleClosed':
    case 'ReflectiveSessionHeld':
    case 'IssueRaised':
    case 'IssueCountermeasureSet':
    case 'IssueSystemChangeSet':
    case 'IssueEscalated':
    case 'IssueEvidenceLinked':
    case 'IssueAskMade':
    case 'IssueAskAnswered':
    case 'IssueClosed':
    case 'IssueReopened':
      return null;
    default:
      return unreachable(event);
  }
}

/** Adds a batch's activity in one statement (rows for the same partner, person and day summed first). */
export async function addActivity(em: EntityManager, schema: string, activity: Activity[]): Promise<void> {
  const rows = new Map<string, Activity & { entries: number }>();
  for (const a of activity) {
    const key = `${a.day}|${a.partner}|${a.personRef}`;
    const r = rows.get(key);
    if (!r) rows.set(key, { ...a, entries: 1 });
    else {
      r.entries += 1;
      r.contacts += a.contacts;
      r.visits += a.visits;
      r.calls += a.calls;
      r.contactMinutes += a.contactMinutes;
      r.costPence += a.costPence;
    }
  }
  if (rows.size === 0) return;
  const list = [...rows.values()];
  const column = <K extends keyof (Activity & { entries: number })>(k: K) => list.map((r) => r[k]);
  await em.query(
    `INSERT INTO ${schema}.place_activity AS a
       (partner, person_ref, day, entries, contacts, visits, calls, contact_minutes, cost_pence)
     SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::bigint[])
     ON CONFLICT (day, partner, person_ref) DO UPDATE SET
       entries = a.entries + excluded.entries, contacts = a.contacts + excluded.contacts,
       visits = a.visits + excluded.visits, calls = a.calls + excluded.calls,
       contact_minutes = a.contact_minutes + excluded.contact_minutes, cost_pence = a.cost_pence + excluded.cost_pence`,
    [
      column('partner'),
      column('personRef'),
      column('day'),
      column('entries'),
      column('contacts'),
      column('visits'),
      column('calls'),
      column('contactMinutes'),
      column('costPence'),
    ],
  );
}
