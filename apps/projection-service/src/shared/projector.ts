import {
  ConsentEvent,
  isKnownEvent,
  PersonEvent,
  PlatformEvent,
  ReferralEvent,
  unreachable,
} from '@app/domain';
import { CloudEvent, Delivery, parseCloudEventType, Rejection } from '@app/messaging';
import { isConnectionFault } from '@app/platform';
import { DataSource, EntityManager } from 'typeorm';
import { applyLearning } from '../learning/learning-projector';
import { activityOf, addActivity } from '../place/place-activity';
import {
  ConsentView,
  JourneyEntry,
  PersonRecord,
  PersonSummary,
  ReferralView,
  SourcePosition,
} from './read-models';

/**
 * Applies a batch of events to the read models in one transaction, with the checkpoint, so a crash leaves
 * either all of the batch or none of it. Each event is applied once: its id goes into processed_events first.
 * An event type or schema version this code does not know is rejected (to the dead-letter topic), never skipped.
 */
export async function project(dataSource: DataSource, batch: Delivery[]): Promise<Rejection[]> {
  const rejections: Rejection[] = [];
  const known: Known[] = [];
  for (const delivery of batch) {
    const kind = parseCloudEventType(delivery.event.type);
    if (kind && isKnownEvent(kind.eventType, kind.schemaVersion)) {
      known.push({ delivery, event: { type: kind.eventType, data: delivery.event.data } as PlatformEvent });
    } else
      rejections.push({ delivery, reason: `unknown event type or schema version: ${delivery.event.type}` });
  }
  if (known.length === 0) return rejections;
  try {
    await dataSource.transaction((em) => applyBatch(em, known, null));
  } catch (e) {
    if (isFault(e)) throw e; // the database is away: the whole batch comes again later
    // Some event in the batch cannot be applied (its data is not what its type promises). Apply the batch
    // again one event at a time, each behind a savepoint, and send the ones that fail to the dead letters.
    await dataSource.transaction((em) => applyBatch(em, known, rejections));
  }
  return rejections;
}

interface Known {
  delivery: Delivery;
  event: PlatformEvent;
}

const isFault = (e: unknown) =>
  isConnectionFault(e) || isConnectionFault((e as { driverError?: unknown })?.driverError);

async function applyBatch(em: EntityManager, known: Known[], rejections: Rejection[] | null): Promise<void> {
  const schema = schemaOf(em);
  // One statement marks the whole batch as processed and says which events are new (not redeliveries).
  const fresh: { event_id: string }[] = await em.query(
    `INSERT INTO ${schema}.processed_events (event_id, partner, position, hash)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[])
     ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
    [
      known.map((k) => k.delivery.event.id),
      known.map((k) => k.delivery.event.partner),
      known.map((k) => k.delivery.event.position),
      known.map((k) => k.delivery.event.eventhash ?? null),
    ],
  );
  const isNew = new Set(fresh.map((r) => r.event_id));
  const applied = known.filter((k) => isNew.has(k.delivery.event.id));
  for (const { delivery, event } of applied) {
    if (!rejections) {
      await apply(em, delivery.event, event);
      continue;
    }
    await em.query('SAVEPOINT apply_event');
    try {
      await apply(em, delivery.event, event);
      await em.query('RELEASE SAVEPOINT apply_event');
    } catch (e) {
      if (isFault(e)) throw e;
      await em.query('ROLLBACK TO SAVEPOINT apply_event');
      rejections.push({
        delivery,
        reason: `could not be applied to the read models: ${(e as Error).message}`,
      });
    }
  }
  const rejected = new Set(rejections?.map((r) => r.delivery.event.id));
  const activity = applied
    .filter((k) => !rejected.has(k.delivery.event.id))
    .map((k) => activityOf(k.delivery.event.partner, k.event))
    .filter((a) => a !== null);
  await addActivity(em, schema, activity);
  // The checkpoint per partner moves in the same transaction.
  const byPartner = new Map<string, { high: number; count: number }>();
  for (const { delivery } of applied) {
    const p = byPartner.get(delivery.event.partner) ?? { high: 0, count: 0 };
    byPartner.set(delivery.event.partner, {
      high: Math.max(p.high, delivery.event.position),
      count: p.count + 1,
    });
  }
  // Always in the same order, so two batches taken side by side cannot deadlock on these rows.
  for (const [partner, { high, count }] of [...byPartner].sort(([a], [b]) => a.localeCompare(b))) {
    await em.query(
      `INSERT INTO ${schema}.source_positions (partner, high_position, events) VALUES ($1, $2, $3)
       ON CONFLICT (partner) DO UPDATE SET high_position = greatest(source_positions.high_position, $2),
         events = source_positions.events + $3`,
      [partner, high, count],
    );
  }
}

function schemaOf(em: EntityManager): string {
  return em.connection.getMetadata(SourcePosition).schema as string;
}

async function apply(em: EntityManager, ce: CloudEvent, event: PlatformEvent): Promise<void> {
  switch (event.type) {
    case 'PersonRegistered':
    case 'PersonWelcomed':
    case 'WhatMattersRevised':
    case 'ContactRecorded':
    case 'SupportGiven':
    case 'LifeSystemMapped':
    case 'ReflectionRecorded':
    case 'OutcomeRecorded':
    case 'WellbeingMeasured':
    case 'PersonErased':
      return applyPerson(em, ce, event);
    case 'ConsentGiven':
    case 'ConsentWithdrawn':
      return applyConsent(em, ce, event);
    case 'ReferralRequested':
    case 'ReferralReceived':
    case 'ReferralStatusChanged':
    case 'ReferralUpdateReceived':
      return applyReferral(em, ce, event);
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
    case 'IssueClosed':
    case 'IssueReopened':
    case 'IssueAskMade':
    case 'IssueAskAnswered':
      return applyLearning(em, schemaOf(em), ce, event);
    default:
      return unreachable(event);
  }
}

function entry(ce: CloudEvent, personRef: string, occurredAt: string, details: object) {
  return {
    eventId: ce.id,
    personRef,
    partner: ce.partner,
    eventType: parseCloudEventType(ce.type)?.eventType as string,
    occurredAt: new Date(occurredAt),
    actor: ce.actor,
    details,
  };
}

/** When a person-scale event happened in the world, whatever its type calls the moment. */
function occurredAtOf(event: PersonEvent): string {
  switch (event.type) {
    case 'PersonRegistered':
      return event.data.registeredAt;
    case 'PersonWelcomed':
      return event.data.welcomedAt;
    case 'WhatMattersRevised':
      return event.data.revisedAt;
    case 'PersonErased':
      return event.data.erasedAt;
    case 'ContactRecorded':
    case 'SupportGiven':
    case 'LifeSystemMapped':
    case 'ReflectionRecorded':
    case 'OutcomeRecorded':
    case 'WellbeingMeasured':
      return event.data.occurredAt;
    default:
      return unreachable(event);
  }
}

async function applyPerson(em: EntityManager, ce: CloudEvent, event: PersonEvent): Promise<void> {
  const { personRef, ...details } = event.data as { personRef: string } & Record<string, unknown>;
  const at = occurredAtOf(event);
  await em.insert(JourneyEntry, entry(ce, personRef, at, details));
  const summary = (values: Partial<PersonSummary>) =>
    em.upsert(PersonSummary, { personRef, ...values }, ['personRef']);
  switch (event.type) {
    case 'PersonRegistered':
      await em.upsert(
        PersonRecord,
        { personRef, partner: ce.partner, knownSince: new Date(at), personal: { ...event.data.personal } },
        ['personRef', 'partner'],
      );
      await summary({ whatMatters: event.data.personal.whatMatters, whatMattersAt: new Date(at) });
      return;
    case 'PersonWelcomed':
      await em
        .createQueryBuilder()
        .insert()
        .into(PersonRecord)
        .values({ personRef, partner: ce.partner, knownSince: new Date(at), personal: null })
        .orIgnore()
        .execute();
      return;
    case 'WhatMattersRevised':
      await summary({ whatMatters: event.data.whatMatters, whatMattersAt: new Date(at) });
      return;
    case 'LifeSystemMapped':
      await summary({ lifeSystem: event.data.map, themes: event.data.themes, lifeSystemAt: new Date(at) });
      return;
    case 'ContactRecorded':
      // Time to first contact: the receiving partner's first contact after a referral to it.
      await em.query(
        `UPDATE ${schemaOf(em)}.referrals SET first_contact_at = $3
          WHERE person_ref = $1 AND to_organisation = $2 AND first_contact_at IS NULL AND requested_at <= $3`,
        [personRef, ce.partner, at],
      );
      return;
    case 'PersonErased':
      await summary({ erasedAt: new Date(at) });
      return;
    case 'SupportGiven':
    case 'ReflectionRecorded':
    case 'OutcomeRecorded':
    case 'WellbeingMeasured':
      return;
    default:
      return unreachable(event);
  }
}

async function applyConsent(em: EntityManager, ce: CloudEvent, event: ConsentEvent): Promise<void> {
  switch (event.type) {
    case 'ConsentGiven': {
      const d = event.data;
      await em.insert(ConsentView, {
        consentId: d.consentId,
        personRef: d.personRef,
        recordedBy: ce.partner,
        partners: d.partners,
        purposes: d.purposes,
        validFrom: new Date(d.validFrom),
        validUntil: d.validUntil ? new Date(d.validUntil) : null,
        withdrawnAt: null,
      });
      await em.insert(
        JourneyEntry,
        entry(ce, d.personRef, d.givenAt, {
          partners: d.partners,
          purposes: d.purposes,
          validUntil: d.validUntil,
        }),
      );
      return;
    }
    case 'ConsentWithdrawn': {
      const d = event.data;
      await em.update(ConsentView, { consentId: d.consentId }, { withdrawnAt: new Date(d.withdrawnAt) });
      await em.insert(JourneyEntry, entry(ce, d.personRef, d.withdrawnAt, { consentId: d.consentId }));
      return;
    }
    default:
      return unreachable(event);
  }
}

async function applyReferral(em: EntityManager, ce: CloudEvent, event: ReferralEvent): Promise<void> {
  switch (event.type) {
    case 'ReferralRequested': {
      const d = event.data;
      await em.insert(ReferralView, {
        referralId: d.referralId,
        personRef: d.personRef,
        fromPartner: d.fromPartner,
        toOrganisation: d.toOrganisation,
        status: 'requested',
        reason: { ...d.reason },
        requestedAt: new Date(d.requestedAt),
        requestedBy: ce.actor,
        answeredAt: null,
        answeredBy: null,
        assignee: null,
        firstContactAt: null,
        updatedAt: new Date(d.requestedAt),
      });
      await em.insert(
        JourneyEntry,
        entry(ce, d.personRef, d.requestedAt, {
          referralId: d.referralId,
          toOrganisation: d.toOrganisation,
          reason: d.reason,
        }),
      );
      return;
    }
    case 'ReferralStatusChanged': {
      const d = event.data;
      const changedAt = new Date(d.changedAt);
      const answer =
        d.side === 'recipient' ? { answeredAt: changedAt, answeredBy: `${ce.partner}:${ce.actor}` } : {};
      await em
        .createQueryBuilder()
        .update(ReferralView)
        .set({
          status: d.status,
          updatedAt: changedAt,
          ...(d.status === 'accepted' ? { assignee: ce.actor } : {}),
          // The first answer of the receiving side is what "answered within the agreed time" measures.
          ...(d.side === 'recipient'
            ? {
                answeredAt: () => 'coalesce(answered_at, :changedAt)',
                answeredBy: () => 'coalesce(answered_by, :by)',
              }
            : {}),
        })
        .setParameters({ changedAt, by: answer.answeredBy ?? null })
        .where('referral_id = :id', { id: d.referralId })
        .execute();
      await em.insert(
        JourneyEntry,
        entry(ce, d.personRef, d.changedAt, {
          referralId: d.referralId,
          status: d.status,
          side: d.side,
          reason: d.reason,
        }),
      );
      return;
    }
    case 'ReferralReceived':
    case 'ReferralUpdateReceived':
      return; // each side's own bookkeeping of the other's records: the views are built from the originals
    default:
      return unreachable(event);
  }
}
