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
import { countIntoBlocks } from '../evidence/provenance';
import { LearningWrites } from '../learning/learning-projector';
import { activityOf, addActivity } from '../place/place-activity';
import { SourcePosition } from './read-models';

/**
 * Applies a batch of events to the read models in one transaction, with the checkpoint, so a crash leaves
 * either all of the batch or none of it. Each event is applied once: its id goes into processed_events first.
 * An event type or schema version this code does not know is rejected (to the dead-letter topic), never skipped.
 */
export interface ProjectOptions {
  /**
   * The caller vouches that no event of the batch has been applied to these read models before, nor comes twice
   * in it (a rebuild reading each partner's log once into a new generation): they are marked processed without
   * looking for redeliveries, which lets processed_events be loaded without its unique index.
   */
  allNew?: boolean;
  /**
   * The place's activity is left for the caller to sum from the journey entries once they are all in
   * (`activityFromJourney`), as a rebuild's load does.
   */
  activityLater?: boolean;
}

export async function project(
  dataSource: DataSource,
  batch: Delivery[],
  options: ProjectOptions = {},
): Promise<Rejection[]> {
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
    await dataSource.transaction((em) => applyBatch(em, known, null, options));
  } catch (e) {
    if (isFault(e)) throw e; // the database is away: the whole batch comes again later
    // Some event in the batch cannot be applied (its data is not what its type promises). Apply the batch
    // again one event at a time, each behind a savepoint, and send the ones that fail to the dead letters.
    await dataSource.transaction((em) => applyBatch(em, known, rejections, options));
  }
  return rejections;
}

interface Known {
  delivery: Delivery;
  event: PlatformEvent;
}

const isFault = (e: unknown) =>
  isConnectionFault(e) || isConnectionFault((e as { driverError?: unknown })?.driverError);

async function applyBatch(
  em: EntityManager,
  known: Known[],
  rejections: Rejection[] | null,
  { allNew, activityLater }: ProjectOptions,
): Promise<void> {
  const schema = schemaOf(em);
  // One statement marks the whole batch as processed and says which events are new (not redeliveries).
  const fresh: { event_id: string }[] = await em.query(
    `INSERT INTO ${schema}.processed_events (event_id, partner, position, hash)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[])
     ${allNew ? '' : 'ON CONFLICT (event_id) DO NOTHING RETURNING event_id'}`,
    [
      known.map((k) => k.delivery.event.id),
      known.map((k) => k.delivery.event.partner),
      known.map((k) => k.delivery.event.position),
      known.map((k) => k.delivery.event.eventhash ?? null),
    ],
  );
  // New to the read models, and once only even if the broker delivered it twice in this batch.
  const isNew = new Set(allNew ? [] : fresh.map((r) => r.event_id));
  const applied = allNew ? known : known.filter((k) => isNew.delete(k.delivery.event.id));
  const writes = new Writes(em, schema);
  for (const { delivery, event } of applied) {
    if (!rejections) {
      await apply(writes, delivery.event, event);
      continue;
    }
    // One event at a time, each behind its own savepoint, its writes made before the savepoint is released.
    await em.query('SAVEPOINT apply_event');
    try {
      await apply(writes, delivery.event, event);
      await writes.flush();
      await em.query('RELEASE SAVEPOINT apply_event');
    } catch (e) {
      if (isFault(e)) throw e;
      writes.discard();
      await em.query('ROLLBACK TO SAVEPOINT apply_event');
      rejections.push({
        delivery,
        reason: `could not be applied to the read models: ${(e as Error).message}`,
      });
    }
  }
  await writes.flush();
  const rejected = new Set(rejections?.map((r) => r.delivery.event.id));
  const taken = applied.filter((k) => !rejected.has(k.delivery.event.id));
  if (rejected.size) {
    // A dead-lettered event is not processed: once the fault is mended, its replay must be applied, not
    // skipped as a redelivery.
    await em.query(`DELETE FROM ${schema}.processed_events WHERE event_id = ANY($1::uuid[])`, [
      [...rejected],
    ]);
  }
  if (!activityLater) {
    const activity = taken
      .map((k) => activityOf(k.delivery.event.partner, k.event))
      .filter((a) => a !== null);
    await addActivity(em, schema, activity);
  }
  await countIntoBlocks(
    em,
    schema,
    taken.map((k) => ({
      partner: k.delivery.event.partner,
      position: k.delivery.event.position,
      slot: k.delivery.partition,
    })),
  );
  // How far each partner's log has been taken moves in the same transaction, per partner and partition.
  const byPartner = new Map<string, { partner: string; slot: number; high: number; count: number }>();
  for (const { delivery } of taken) {
    const key = `${delivery.event.partner}|${delivery.partition}`;
    const p = byPartner.get(key) ?? {
      partner: delivery.event.partner,
      slot: delivery.partition,
      high: 0,
      count: 0,
    };
    p.high = Math.max(p.high, delivery.event.position);
    p.count++;
    byPartner.set(key, p);
  }
  if (byPartner.size === 0) return;
  // In a fixed order, so that two batches taken side by side cannot deadlock on these rows.
  const moved = [...byPartner.values()].sort((a, b) => a.partner.localeCompare(b.partner) || a.slot - b.slot);
  await em.query(
    `INSERT INTO ${schema}.source_positions AS s (partner, slot, high_position, events)
     SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[])
     ON CONFLICT (partner, slot) DO UPDATE SET high_position = greatest(s.high_position, excluded.high_position),
       events = s.events + excluded.events`,
    [
      moved.map((m) => m.partner),
      moved.map((m) => m.slot),
      moved.map((m) => m.high),
      moved.map((m) => m.count),
    ],
  );
}

type Row = Record<string, unknown>;

/**
 * The batch's writes, gathered and made a statement per table rather than a statement per event: a rebuild
 * of millions of events is bound by round trips. `flush` writes them in an order that respects what depends on
 * what (a referral before its moves and its first contact, a consent before its withdrawal), and folds several
 * changes to one row as applying them one by one would.
 */
class Writes {
  private journey: Row[] = [];
  private registered = new Map<string, Row>();
  private welcomed: Row[] = [];
  private summaries = {
    whatMatters: new Map<string, Row>(),
    lifeSystem: new Map<string, Row>(),
    erased: new Map<string, Row>(),
  };
  private consents: Row[] = [];
  private referrals: Row[] = [];
  private referralMoves: Row[] = [];
  private withdrawals: Row[] = [];
  private contacts: Row[] = [];
  /** Learning's tables are its own: nothing gathered here bears on them, so nothing need go first. */
  readonly learning: LearningWrites;

  constructor(
    readonly em: EntityManager,
    readonly schema: string,
  ) {
    this.learning = new LearningWrites(em, schema);
  }

  entry(ce: CloudEvent, personRef: string, occurredAt: string, details: object) {
    this.journey.push({
      event_id: ce.id,
      person_ref: personRef,
      partner: ce.partner,
      event_type: parseCloudEventType(ce.type)?.eventType as string,
      occurred_at: occurredAt,
      actor: ce.actor,
      details,
    });
  }

  personRecord(row: Row, registered: boolean) {
    if (registered) this.registered.set(`${row.person_ref}|${row.partner}`, row);
    else this.welcomed.push(row);
  }

  /** What is true of a person now: the last word in the batch for each part wins. */
  summary(part: keyof Writes['summaries'], personRef: string, values: Row) {
    this.summaries[part].set(personRef, { person_ref: personRef, ...values });
  }

  consent(row: Row) {
    this.consents.push(row);
  }

  referral(row: Row) {
    this.referrals.push(row);
  }

  contact(personRef: string, partner: string, at: string) {
    this.contacts.push({ person_ref: personRef, partner, at });
  }

  /** A referral's status moving, in the batch's order (applied after the referrals the batch adds). */
  referralMove(row: Row) {
    this.referralMoves.push({ ord: this.referralMoves.length, ...row });
  }

  withdrawal(consentId: string, at: string) {
    this.withdrawals.push({ consent_id: consentId, withdrawn_at: at });
  }

  discard() {
    this.journey = [];
    this.registered.clear();
    this.welcomed = [];
    for (const m of Object.values(this.summaries)) m.clear();
    this.consents = [];
    this.referrals = [];
    this.referralMoves = [];
    this.withdrawals = [];
    this.contacts = [];
    this.learning.discard();
  }

  async flush(): Promise<void> {
    const s = this.schema;
    const rows = (sql: string, list: Row[]) =>
      list.length ? this.em.query(sql, [JSON.stringify(list)]) : null;
    await rows(
      `INSERT INTO ${s}.journey_entries (event_id, person_ref, partner, event_type, occurred_at, actor, details)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(event_id uuid, person_ref text, partner text,
         event_type text, occurred_at timestamptz, actor text, details jsonb)`,
      this.journey,
    );
    const personRecords = `SELECT * FROM jsonb_to_recordset($1::jsonb)
       AS x(person_ref text, partner text, known_since timestamptz, personal jsonb)`;
    await rows(
      `INSERT INTO ${s}.person_records (person_ref, partner, known_since, personal) ${personRecords}
       ON CONFLICT (person_ref, partner) DO UPDATE SET known_since = excluded.known_since, personal = excluded.personal`,
      [...this.registered.values()],
    );
    await rows(
      `INSERT INTO ${s}.person_records (person_ref, partner, known_since, personal) ${personRecords}
       ON CONFLICT (person_ref, partner) DO NOTHING`,
      this.welcomed,
    );
    await rows(
      `INSERT INTO ${s}.person_summaries (person_ref, what_matters, what_matters_at)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(person_ref text, what_matters jsonb, what_matters_at timestamptz)
       ON CONFLICT (person_ref) DO UPDATE SET what_matters = excluded.what_matters, what_matters_at = excluded.what_matters_at`,
      [...this.summaries.whatMatters.values()],
    );
    await rows(
      `INSERT INTO ${s}.person_summaries (person_ref, life_system, themes, life_system_at)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(person_ref text, life_system jsonb, themes text[], life_system_at timestamptz)
       ON CONFLICT (person_ref) DO UPDATE SET life_system = excluded.life_system, themes = excluded.themes,
         life_system_at = excluded.life_system_at`,
      [...this.summaries.lifeSystem.values()],
    );
    await rows(
      `INSERT INTO ${s}.person_summaries (person_ref, erased_at)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(person_ref text, erased_at timestamptz)
       ON CONFLICT (person_ref) DO UPDATE SET erased_at = excluded.erased_at`,
      [...this.summaries.erased.values()],
    );
    await rows(
      `INSERT INTO ${s}.consents (consent_id, person_ref, recorded_by, partners, purposes, valid_from, valid_until, withdrawn_at)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(consent_id uuid, person_ref text, recorded_by text,
         partners text[], purposes text[], valid_from timestamptz, valid_until timestamptz, withdrawn_at timestamptz)`,
      this.consents,
    );
    await rows(
      `INSERT INTO ${s}.referrals (referral_id, person_ref, from_partner, to_organisation, status, reason, requested_at,
         requested_by, updated_at)
       SELECT referral_id, person_ref, from_partner, to_organisation, 'requested', reason, requested_at, requested_by,
              requested_at
         FROM jsonb_to_recordset($1::jsonb) AS x(referral_id uuid, person_ref text, from_partner text,
           to_organisation text, reason jsonb, requested_at timestamptz, requested_by text)`,
      this.referrals,
    );
    await rows(
      `UPDATE ${s}.consents c SET withdrawn_at = x.withdrawn_at
         FROM (SELECT consent_id, min(withdrawn_at) AS withdrawn_at
                 FROM jsonb_to_recordset($1::jsonb) AS x(consent_id uuid, withdrawn_at timestamptz) GROUP BY 1) x
        WHERE c.consent_id = x.consent_id`,
      this.withdrawals,
    );
    // Each referral's moves in the batch, folded as one after another would leave it: the last status; the
    // worker of the last acceptance; the first answer of the receiving side ("answered within the agreed time").
    await rows(
      `WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(ord int, referral_id uuid, status text,
                    changed_at timestamptz, actor text, recipient boolean, answered_by text)),
            m AS (SELECT referral_id,
                         (array_agg(status ORDER BY ord DESC))[1] AS status,
                         (array_agg(changed_at ORDER BY ord DESC))[1] AS changed_at,
                         (array_agg(actor ORDER BY ord DESC) FILTER (WHERE status = 'accepted'))[1] AS assignee,
                         (array_agg(changed_at ORDER BY ord) FILTER (WHERE recipient))[1] AS answered_at,
                         (array_agg(answered_by ORDER BY ord) FILTER (WHERE recipient))[1] AS answered_by
                    FROM x GROUP BY referral_id)
       UPDATE ${s}.referrals r SET status = m.status, updated_at = m.changed_at,
              assignee = coalesce(m.assignee, r.assignee), answered_at = coalesce(r.answered_at, m.answered_at),
              answered_by = coalesce(r.answered_by, m.answered_by)
         FROM m WHERE r.referral_id = m.referral_id`,
      this.referralMoves,
    );
    // Time to first contact: the receiving partner's first contact after a referral to it.
    await rows(
      `UPDATE ${s}.referrals r SET first_contact_at = c.at
         FROM (SELECT r2.referral_id, min(x.at) AS at
                 FROM jsonb_to_recordset($1::jsonb) AS x(person_ref text, partner text, at timestamptz)
                 JOIN ${s}.referrals r2 ON r2.person_ref = x.person_ref AND r2.to_organisation = x.partner
                  AND r2.first_contact_at IS NULL AND r2.requested_at <= x.at
                GROUP BY r2.referral_id) c
        WHERE r.referral_id = c.referral_id`,
      this.contacts,
    );
    await this.learning.flush();
    this.discard();
  }
}

function schemaOf(em: EntityManager): string {
  return em.connection.getMetadata(SourcePosition).schema as string;
}

async function apply(w: Writes, ce: CloudEvent, event: PlatformEvent): Promise<void> {
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
      return applyPerson(w, ce, event);
    case 'ConsentGiven':
    case 'ConsentWithdrawn':
      return applyConsent(w, ce, event);
    case 'ReferralRequested':
    case 'ReferralReceived':
    case 'ReferralStatusChanged':
    case 'ReferralUpdateReceived':
      return applyReferral(w, ce, event);
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
      return w.learning.apply(ce, event);
    default:
      return unreachable(event);
  }
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

async function applyPerson(w: Writes, ce: CloudEvent, event: PersonEvent): Promise<void> {
  const { personRef, ...details } = event.data as { personRef: string } & Record<string, unknown>;
  const at = occurredAtOf(event);
  w.entry(ce, personRef, at, details);
  switch (event.type) {
    case 'PersonRegistered':
      w.personRecord(
        { person_ref: personRef, partner: ce.partner, known_since: at, personal: { ...event.data.personal } },
        true,
      );
      w.summary('whatMatters', personRef, {
        what_matters: event.data.personal.whatMatters,
        what_matters_at: at,
      });
      return;
    case 'PersonWelcomed':
      w.personRecord({ person_ref: personRef, partner: ce.partner, known_since: at, personal: null }, false);
      return;
    case 'WhatMattersRevised':
      w.summary('whatMatters', personRef, { what_matters: event.data.whatMatters, what_matters_at: at });
      return;
    case 'LifeSystemMapped':
      w.summary('lifeSystem', personRef, {
        life_system: event.data.map,
        themes: event.data.themes,
        life_system_at: at,
      });
      return;
    case 'ContactRecorded':
      w.contact(personRef, ce.partner, at);
      return;
    case 'PersonErased':
      w.summary('erased', personRef, { erased_at: at });
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

async function applyConsent(w: Writes, ce: CloudEvent, event: ConsentEvent): Promise<void> {
  switch (event.type) {
    case 'ConsentGiven': {
      const d = event.data;
      w.consent({
        consent_id: d.consentId,
        person_ref: d.personRef,
        recorded_by: ce.partner,
        partners: d.partners,
        purposes: d.purposes,
        valid_from: d.validFrom,
        valid_until: d.validUntil ?? null,
        withdrawn_at: null,
      });
      w.entry(ce, d.personRef, d.givenAt, {
        partners: d.partners,
        purposes: d.purposes,
        validUntil: d.validUntil,
      });
      return;
    }
    case 'ConsentWithdrawn': {
      const d = event.data;
      w.withdrawal(d.consentId, d.withdrawnAt);
      w.entry(ce, d.personRef, d.withdrawnAt, { consentId: d.consentId });
      return;
    }
    default:
      return unreachable(event);
  }
}

async function applyReferral(w: Writes, ce: CloudEvent, event: ReferralEvent): Promise<void> {
  switch (event.type) {
    case 'ReferralRequested': {
      const d = event.data;
      w.referral({
        referral_id: d.referralId,
        person_ref: d.personRef,
        from_partner: d.fromPartner,
        to_organisation: d.toOrganisation,
        reason: { ...d.reason },
        requested_at: d.requestedAt,
        requested_by: ce.actor,
      });
      w.entry(ce, d.personRef, d.requestedAt, {
        referralId: d.referralId,
        toOrganisation: d.toOrganisation,
        reason: d.reason,
      });
      return;
    }
    case 'ReferralStatusChanged': {
      const d = event.data;
      w.referralMove({
        referral_id: d.referralId,
        status: d.status,
        changed_at: d.changedAt,
        actor: ce.actor,
        recipient: d.side === 'recipient',
        answered_by: `${ce.partner}:${ce.actor}`,
      });
      w.entry(ce, d.personRef, d.changedAt, {
        referralId: d.referralId,
        status: d.status,
        side: d.side,
        reason: d.reason,
      });
      return;
    }
    case 'ReferralReceived':
    case 'ReferralUpdateReceived':
      return; // each side's own bookkeeping of the other's records: the views are built from the originals
    default:
      return unreachable(event);
  }
}
