import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { PROVENANCE_MIGRATION, PROVENANCE_SLOTS_MIGRATION } from '../evidence/provenance';
import { WEBHOOK_MIGRATION } from '../feeds/webhooks';
import { ISSUE_ASKS_MIGRATION, LEARNING_MIGRATION, LEARNING_TABLES } from '../learning/learning-projector';
import { PLACE_ACTIVITY_MIGRATION } from '../place/place-activity';

/**
 * The projection's read models (TypeORM entities). Personal fields stay sealed here exactly as they were in
 * the events: a view opens them with the person's key only when it serves a read that consent allows, so
 * destroying the key erases this copy too.
 */

/** Idempotency: each event is applied once, whatever the broker redelivers. */
@Entity('processed_events')
export class ProcessedEvent {
  @PrimaryColumn('uuid', { name: 'event_id' }) eventId!: string;
  @Column('text') partner!: string;
  @Column('bigint') position!: number;
  @Column('text', { nullable: true }) hash!: string | null;
}

/**
 * How far the projection has taken each partner's log, moved in the same transaction as the read models: a
 * row per partner and Kafka partition (slot), so that partitions taken side by side never wait on one row.
 */
@Entity('source_positions')
export class SourcePosition {
  @PrimaryColumn('text') partner!: string;
  @PrimaryColumn('int') slot!: number;
  @Column('bigint', { name: 'high_position' }) highPosition!: number;
  @Column('bigint') events!: number;
}

/** Which partners hold a record of a person (registered there, or welcomed from a referral). */
@Entity('person_records')
export class PersonRecord {
  @PrimaryColumn('text', { name: 'person_ref' }) personRef!: string;
  @PrimaryColumn('text') partner!: string;
  @Column('timestamptz', { name: 'known_since' }) knownSince!: Date;
  /** Sealed personal details, where this partner registered the person. */
  @Column('jsonb', { nullable: true }) personal!: object | null;
}

@Entity('journey_entries')
export class JourneyEntry {
  @PrimaryColumn('uuid', { name: 'event_id' }) eventId!: string;
  @Column('text', { name: 'person_ref' }) personRef!: string;
  @Column('text') partner!: string;
  @Column('text', { name: 'event_type' }) eventType!: string;
  @Column('timestamptz', { name: 'occurred_at' }) occurredAt!: Date;
  @Column('text') actor!: string;
  @Column('jsonb') details!: object;
}

@Entity('consents')
export class ConsentView {
  @PrimaryColumn('uuid', { name: 'consent_id' }) consentId!: string;
  @Column('text', { name: 'person_ref' }) personRef!: string;
  @Column('text', { name: 'recorded_by' }) recordedBy!: string;
  @Column('text', { array: true }) partners!: string[];
  @Column('text', { array: true }) purposes!: string[];
  @Column('timestamptz', { name: 'valid_from' }) validFrom!: Date;
  @Column('timestamptz', { name: 'valid_until', nullable: true }) validUntil!: Date | null;
  @Column('timestamptz', { name: 'withdrawn_at', nullable: true }) withdrawnAt!: Date | null;
}

@Entity('referrals')
export class ReferralView {
  @PrimaryColumn('uuid', { name: 'referral_id' }) referralId!: string;
  @Column('text', { name: 'person_ref' }) personRef!: string;
  @Column('text', { name: 'from_partner' }) fromPartner!: string;
  @Column('text', { name: 'to_organisation' }) toOrganisation!: string;
  @Column('text') status!: string;
  @Column('jsonb') reason!: object;
  @Column('timestamptz', { name: 'requested_at' }) requestedAt!: Date;
  @Column('text', { name: 'requested_by' }) requestedBy!: string;
  @Column('timestamptz', { name: 'answered_at', nullable: true }) answeredAt!: Date | null;
  @Column('text', { name: 'answered_by', nullable: true }) answeredBy!: string | null;
  /** The worker who took the referral on (accepted it): their own inbox. */
  @Column('text', { nullable: true }) assignee!: string | null;
  @Column('timestamptz', { name: 'first_contact_at', nullable: true }) firstContactAt!: Date | null;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}

/** What is true of a person now, across partners: what matters to them, their life as a system. Sealed. */
@Entity('person_summaries')
export class PersonSummary {
  @PrimaryColumn('text', { name: 'person_ref' }) personRef!: string;
  @Column('jsonb', { name: 'what_matters', nullable: true }) whatMatters!: object | null;
  @Column('timestamptz', { name: 'what_matters_at', nullable: true }) whatMattersAt!: Date | null;
  @Column('jsonb', { name: 'life_system', nullable: true }) lifeSystem!: object | null;
  @Column('timestamptz', { name: 'life_system_at', nullable: true }) lifeSystemAt!: Date | null;
  /** The consortium's themes the person brings (debt, housing, …): not personal on their own, kept plain. */
  @Column('text', { array: true, default: () => "'{}'" }) themes!: string[];
  @Column('timestamptz', { name: 'erased_at', nullable: true }) erasedAt!: Date | null;
}

/** Every read of a person's journey by someone outside the partner that holds the record: who, when, why. */
@Entity('journey_reads')
export class JourneyRead {
  @PrimaryGeneratedColumn('increment') id!: number;
  @Column('text', { name: 'person_ref' }) personRef!: string;
  @Column('text', { name: 'reader_organisation' }) readerOrganisation!: string;
  @Column('text', { name: 'reader_user' }) readerUser!: string;
  @Column('text') purpose!: string;
  @Column('timestamptz', { name: 'read_at' }) readAt!: Date;
}

export const READ_MODELS = [
  PersonSummary,
  ProcessedEvent,
  SourcePosition,
  PersonRecord,
  JourneyEntry,
  ConsentView,
  ReferralView,
  JourneyRead,
];

/** The read models' tables, versioned like every schema in the platform. */
export const PROJECTION_MIGRATIONS = [
  `CREATE TABLE {schema}.processed_events (event_id uuid PRIMARY KEY, partner text NOT NULL, position bigint NOT NULL);
   CREATE TABLE {schema}.source_positions (partner text PRIMARY KEY, high_position bigint NOT NULL, events bigint NOT NULL);
   CREATE TABLE {schema}.person_records (
     person_ref text NOT NULL, partner text NOT NULL, known_since timestamptz NOT NULL, personal jsonb,
     PRIMARY KEY (person_ref, partner));
   CREATE TABLE {schema}.journey_entries (
     event_id uuid PRIMARY KEY, person_ref text NOT NULL, partner text NOT NULL, event_type text NOT NULL,
     occurred_at timestamptz NOT NULL, actor text NOT NULL, details jsonb NOT NULL);
   CREATE INDEX journey_entries_person ON {schema}.journey_entries (person_ref, occurred_at DESC);
   CREATE TABLE {schema}.consents (
     consent_id uuid PRIMARY KEY, person_ref text NOT NULL, recorded_by text NOT NULL, partners text[] NOT NULL,
     purposes text[] NOT NULL, valid_from timestamptz NOT NULL, valid_until timestamptz, withdrawn_at timestamptz);
   CREATE INDEX consents_person ON {schema}.consents (person_ref);
   CREATE TABLE {schema}.referrals (
     referral_id uuid PRIMARY KEY, person_ref text NOT NULL, from_partner text NOT NULL, to_organisation text NOT NULL,
     status text NOT NULL, reason jsonb NOT NULL, requested_at timestamptz NOT NULL, requested_by text NOT NULL,
     answered_at timestamptz, answered_by text);
   CREATE INDEX referrals_inbox ON {schema}.referrals (to_organisation, requested_at DESC);
   CREATE INDEX referrals_sent ON {schema}.referrals (from_partner, requested_at DESC);
   CREATE TABLE {schema}.journey_reads (
     id bigserial PRIMARY KEY, person_ref text NOT NULL, reader_organisation text NOT NULL, reader_user text NOT NULL,
     purpose text NOT NULL, read_at timestamptz NOT NULL);
   CREATE INDEX journey_reads_person ON {schema}.journey_reads (person_ref, read_at DESC);`,
  `CREATE TABLE {schema}.projection_state (id int PRIMARY KEY CHECK (id = 1), generation int NOT NULL);
   INSERT INTO {schema}.projection_state VALUES (1, 1);`,
  `ALTER TABLE {schema}.referrals ADD COLUMN assignee text, ADD COLUMN first_contact_at timestamptz,
     ADD COLUMN updated_at timestamptz;
   UPDATE {schema}.referrals SET updated_at = coalesce(answered_at, requested_at);
   ALTER TABLE {schema}.referrals ALTER COLUMN updated_at SET NOT NULL;
   CREATE INDEX referrals_assignee ON {schema}.referrals (assignee);
   CREATE TABLE {schema}.person_summaries (
     person_ref text PRIMARY KEY, what_matters jsonb, what_matters_at timestamptz, life_system jsonb,
     life_system_at timestamptz, themes text[] NOT NULL DEFAULT '{}', erased_at timestamptz);`,
  LEARNING_MIGRATION,
  // The hash each event carried, so provenance can be digested here and checked against a partner's store.
  `ALTER TABLE {schema}.processed_events ADD COLUMN hash text;`,
  ISSUE_ASKS_MIGRATION,
  PLACE_ACTIVITY_MIGRATION,
  WEBHOOK_MIGRATION,
  PROVENANCE_MIGRATION,
  `ALTER TABLE {schema}.source_positions ADD COLUMN slot int NOT NULL DEFAULT 0;
   ALTER TABLE {schema}.source_positions DROP CONSTRAINT source_positions_pkey, ADD PRIMARY KEY (partner, slot);
   ${PROVENANCE_SLOTS_MIGRATION}`,
];

/** The tables built from events alone: emptied and built again by a rebuild. (Audit records are not.) */
export const DERIVED_TABLES = [
  'processed_events',
  'source_positions',
  'person_records',
  'journey_entries',
  'consents',
  'referrals',
  'person_summaries',
  ...LEARNING_TABLES,
  'place_activity',
  'provenance_blocks',
  'provenance_digests',
];
