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
import { ConsentView, JourneyEntry, PersonRecord, ReferralView, SourcePosition } from './read-models';

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
    `INSERT INTO ${schema}.processed_events (event_id, partner, position)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[])
     ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
    [
      known.map((k) => k.delivery.event.id),
      known.map((k) => k.delivery.event.partner),
      known.map((k) => k.delivery.event.position),
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
    case 'ReferredPersonWelcomed':
    case 'ContactRecorded':
      return applyPerson(em, ce, event);
    case 'ConsentGiven':
    case 'ConsentWithdrawn':
      return applyConsent(em, ce, event);
    case 'ReferralRequested':
    case 'ReferralReceived':
    case 'ReferralAccepted':
      return applyReferral(em, ce, event);
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

async function applyPerson(em: EntityManager, ce: CloudEvent, event: PersonEvent): Promise<void> {
  switch (event.type) {
    case 'PersonRegistered': {
      const { personRef, personal, registeredAt } = event.data;
      await em.upsert(
        PersonRecord,
        {
          personRef,
          partner: ce.partner,
          knownSince: new Date(registeredAt),
          personal: { ...personal },
        },
        ['personRef', 'partner'],
      );
      await em.insert(
        JourneyEntry,
        entry(ce, personRef, registeredAt, { whatMatters: personal.whatMatters }),
      );
      return;
    }
    case 'ReferredPersonWelcomed': {
      const { personRef, referralId, fromPartner, welcomedAt } = event.data;
      await em
        .createQueryBuilder()
        .insert()
        .into(PersonRecord)
        .values({
          personRef,
          partner: ce.partner,
          knownSince: new Date(welcomedAt),
          personal: null,
        })
        .orIgnore()
        .execute();
      await em.insert(JourneyEntry, entry(ce, personRef, welcomedAt, { referralId, fromPartner }));
      return;
    }
    case 'ContactRecorded': {
      const { personRef, occurredAt, ...details } = event.data;
      await em.insert(JourneyEntry, entry(ce, personRef, occurredAt, { ...details }));
      return;
    }
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
    case 'ReferralReceived':
      return; // the receiving partner's own bookkeeping: the inbox is built from the request
    case 'ReferralAccepted': {
      const d = event.data;
      await em.update(
        ReferralView,
        { referralId: d.referralId },
        { status: 'accepted', answeredAt: new Date(d.acceptedAt), answeredBy: `${ce.partner}:${ce.actor}` },
      );
      await em.insert(JourneyEntry, entry(ce, d.personRef, d.acceptedAt, { referralId: d.referralId }));
      return;
    }
    default:
      return unreachable(event);
  }
}
