import { checkSchemaName, createPool, isConnectionFault, migrate, sharesOneSession } from '@app/platform';
import { Pool, PoolClient } from 'pg';
import {
  AppendResult,
  EventStore,
  ExpectedVersion,
  LogCheckpoint,
  NewEvent,
  PROVENANCE_BLOCK,
  RangeVerification,
  RecordedEvent,
  StoreUnavailableError,
  WrongExpectedVersionError,
} from './event-store.port';

const MIGRATIONS = [
  `CREATE TABLE {schema}.events (
     position        bigserial PRIMARY KEY,
     transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
     stream_id       text NOT NULL,
     version         int NOT NULL,
     event_id        uuid NOT NULL UNIQUE,
     event_type      text NOT NULL,
     schema_version  int NOT NULL,
     data            jsonb NOT NULL,
     metadata        jsonb NOT NULL,
     recorded_at     timestamptz NOT NULL DEFAULT now(),
     CONSTRAINT events_stream_version UNIQUE (stream_id, version)
   );
   CREATE INDEX events_log_order ON {schema}.events (transaction_id, position);`,
  // Each event's hash covers its content and the hash of the event before it in its stream, so altering or
  // removing any event breaks every hash after it: evidence packs name the hashes they were computed from.
  `CREATE FUNCTION {schema}.event_hash(prev bytea, event_id uuid, event_type text, schema_version int, data jsonb,
     metadata jsonb) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
   $$ SELECT sha256(prev || convert_to(jsonb_build_array(event_id, event_type, schema_version, data, metadata)::text, 'UTF8')) $$;
   ALTER TABLE {schema}.events ADD COLUMN hash bytea;
   DO $$
   DECLARE r record; prev bytea; cur text;
   BEGIN
     FOR r IN SELECT * FROM {schema}.events ORDER BY stream_id, version LOOP
       IF cur IS DISTINCT FROM r.stream_id THEN prev := '\\x'::bytea; cur := r.stream_id; END IF;
       prev := {schema}.event_hash(prev, r.event_id, r.event_type, r.schema_version, r.data, r.metadata);
       UPDATE {schema}.events SET hash = prev WHERE position = r.position;
     END LOOP;
   END $$;
   ALTER TABLE {schema}.events ALTER COLUMN hash SET NOT NULL;`,
];

/**
 * One statement per append: it reads the stream's head, checks the expected version and inserts every event.
 * Two racing writers both pass the check; the unique (stream_id, version) constraint then stops the second.
 */
function appendSql(schema: string): string {
  return `
    WITH RECURSIVE
      head AS (SELECT version AS v, hash AS h FROM ${schema}.events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1),
      start AS (SELECT coalesce((SELECT v FROM head), -1) AS v, coalesce((SELECT h FROM head), '\\x'::bytea) AS h),
      batch AS MATERIALIZED (
        SELECT (e->>'id')::uuid AS event_id, e->>'type' AS event_type, (e->>'schemaVersion')::int AS schema_version,
               e->'data' AS data, e->'metadata' AS metadata, n
          FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS b(e, n)),
      chain AS (
        SELECT 0::bigint AS n, start.h AS h FROM start
        UNION ALL
        SELECT b.n, ${schema}.event_hash(chain.h, b.event_id, b.event_type, b.schema_version, b.data, b.metadata)
          FROM chain JOIN batch b ON b.n = chain.n + 1)
    INSERT INTO ${schema}.events (stream_id, version, event_id, event_type, schema_version, data, metadata, hash)
    SELECT $1, start.v + batch.n, batch.event_id, batch.event_type, batch.schema_version, batch.data, batch.metadata, chain.h
      FROM start, batch JOIN chain ON chain.n = batch.n
     WHERE $2::int IS NULL OR start.v = $2::int
     ORDER BY batch.n
    RETURNING position, version`;
}

/**
 * The same append for the commonest case, one event: scalar parameters and no recursion, so a command that
 * records one thing costs the server as little as the plain insert it stands beside.
 */
function appendOneSql(schema: string): string {
  return `
    WITH head AS (SELECT version AS v, hash AS h FROM ${schema}.events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1),
         start AS (SELECT coalesce((SELECT v FROM head), -1) AS v, coalesce((SELECT h FROM head), '\\x'::bytea) AS h)
    INSERT INTO ${schema}.events (stream_id, version, event_id, event_type, schema_version, data, metadata, hash)
    SELECT $1, start.v + 1, $3, $4, $5, $6, $7, ${schema}.event_hash(start.h, $3::uuid, $4::text, $5::int, $6::jsonb, $7::jsonb)
      FROM start
     WHERE $2::int IS NULL OR start.v = $2::int
    RETURNING position, version`;
}

function expectedAsParam(expected: ExpectedVersion): number | null {
  if (expected === 'any') return null;
  if (expected === 'no_stream') return -1;
  return expected;
}

const COLUMNS = `position, transaction_id::text AS transaction_id, stream_id, version, event_id, event_type,
  schema_version, data, metadata, recorded_at, encode(hash, 'hex') AS hash`;

interface EventRow {
  position: number;
  transaction_id: string;
  stream_id: string;
  version: number;
  event_id: string;
  event_type: string;
  schema_version: number;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  recorded_at: Date;
  hash: string;
}

function toRecorded(r: EventRow): RecordedEvent {
  return {
    id: r.event_id,
    type: r.event_type,
    schemaVersion: r.schema_version,
    data: r.data,
    metadata: r.metadata,
    streamId: r.stream_id,
    version: r.version,
    position: r.position,
    transactionId: r.transaction_id,
    recordedAt: r.recorded_at.toISOString(),
    hash: r.hash,
  };
}

export class PostgresEventStore implements EventStore {
  private readonly appendStatement: string;
  private readonly appendOneStatement: string;
  /** Named (parsed and planned once per connection) on a real server; unnamed where connections share a session. */
  private readonly statementName: string | undefined;

  private constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly ownsPool: boolean,
  ) {
    this.appendStatement = appendSql(schema);
    this.appendOneStatement = appendOneSql(schema);
    this.statementName = sharesOneSession(pool) ? undefined : `append-${schema}`;
  }

  /** Opens (and migrates) the store in `schema`; the pool is shared if given, else made from the URL. */
  static async open(options: { pool?: Pool; url?: string; schema: string }): Promise<PostgresEventStore> {
    const schema = checkSchemaName(options.schema);
    const pool = options.pool ?? createPool(required(options.url));
    await migrate(pool, schema, 'event-store', MIGRATIONS);
    return new PostgresEventStore(pool, schema, !options.pool);
  }

  async append(streamId: string, expected: ExpectedVersion, events: NewEvent[]): Promise<AppendResult> {
    return this.appendWith(this.pool, streamId, expected, events);
  }

  /** The same append on a caller's client: the contract tests hold its transaction open to prove gap safety. */
  async appendWith(
    client: Pool | PoolClient,
    streamId: string,
    expected: ExpectedVersion,
    events: NewEvent[],
  ): Promise<AppendResult> {
    if (events.length === 0) throw new Error('An append needs at least one event');
    try {
      // A named statement is parsed and planned once per connection, not on every append.
      const one = events.length === 1;
      const values = one
        ? [
            streamId,
            expectedAsParam(expected),
            events[0].id,
            events[0].type,
            events[0].schemaVersion,
            JSON.stringify(events[0].data),
            JSON.stringify(events[0].metadata),
          ]
        : [
            streamId,
            expectedAsParam(expected),
            // One JSON document for the batch: no array literal to escape, one parameter to send.
            JSON.stringify(
              events.map((e) => ({
                id: e.id,
                type: e.type,
                schemaVersion: e.schemaVersion,
                data: e.data,
                metadata: e.metadata,
              })),
            ),
          ];
      const { rows } = await client.query<{ position: number; version: number }>({
        name: this.statementName && `${this.statementName}${one ? '-one' : ''}`,
        text: one ? this.appendOneStatement : this.appendStatement,
        values,
      });
      if (rows.length === 0) throw new WrongExpectedVersionError(streamId, expected);
      return { version: rows[rows.length - 1].version, positions: rows.map((r) => r.position) };
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw new WrongExpectedVersionError(streamId, expected);
      throw this.translate(e);
    }
  }

  async readStream(streamId: string): Promise<RecordedEvent[]> {
    const { rows } = await this.query<EventRow>(
      `SELECT ${COLUMNS} FROM ${this.schema}.events WHERE stream_id = $1 ORDER BY version`,
      [streamId],
    );
    return rows.map(toRecorded);
  }

  /**
   * Only rows whose transaction is older than every transaction still in flight are visible to the reader,
   * and they come in (transaction, position) order. A late committer has a transaction id at or above the
   * oldest in-flight one, so it always sorts after the reader's checkpoint: it is read late, never skipped.
   */
  async readLog(after: LogCheckpoint, limit: number): Promise<RecordedEvent[]> {
    const { rows } = await this.query<EventRow>(
      // Ordered by the column, e.transaction_id (an xid8), not by the text the select list names the same:
      // as text, 1000 sorts before 994 and the log would skip and repeat events at every power of ten.
      `SELECT ${COLUMNS} FROM ${this.schema}.events e
        WHERE (e.transaction_id, e.position) > ($1::xid8, $2::bigint)
          AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY e.transaction_id, e.position
        LIMIT $3`,
      [after.transactionId, after.position, limit],
    );
    return rows.map(toRecorded);
  }

  /**
   * Recomputes every hash in a range of positions from the events' content and their stream predecessors,
   * and digests the range (SHA-256 over the hashes in position order): what an evidence pack was computed
   * from can be checked against the store at any time. Altered events are named by position.
   */
  async verifyRange(from: number, to: number): Promise<RangeVerification> {
    const { rows } = await this.query<{
      events: number;
      digest: string | null;
      altered: number[] | null;
    }>(
      `WITH e AS (
         SELECT e.position, e.hash, e.hash <> ${this.schema}.event_hash(coalesce(p.hash, '\\x'::bytea), e.event_id,
                  e.event_type, e.schema_version, e.data, e.metadata) AS altered
           FROM ${this.schema}.events e
           LEFT JOIN ${this.schema}.events p ON p.stream_id = e.stream_id AND p.version = e.version - 1
          WHERE e.position BETWEEN $1 AND $2),
       blocks AS (
         SELECT e.position / ${PROVENANCE_BLOCK} AS block, sha256(string_agg(e.hash, ''::bytea ORDER BY e.position)) AS digest
           FROM e GROUP BY 1)
       SELECT (SELECT count(*)::int FROM e) AS events,
              (SELECT encode(sha256(string_agg(digest, ''::bytea ORDER BY block)), 'hex') FROM blocks) AS digest,
              (SELECT array_agg(position ORDER BY position) FROM e WHERE altered) AS altered`,
      [from, to],
    );
    const r = rows[0];
    return { from, to, events: r.events, digest: r.digest ?? '', altered: (r.altered ?? []).map(Number) };
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  private async query<R extends object>(sql: string, params: unknown[]) {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (e) {
      throw this.translate(e);
    }
  }

  private translate(e: unknown): unknown {
    return isConnectionFault(e) ? new StoreUnavailableError(e) : e;
  }
}

function required(url: string | undefined): string {
  if (!url) throw new Error('An event store needs a pool or a database URL');
  return url;
}
