import { checkSchemaName, createPool, isConnectionFault, migrate, sharesOneSession } from '@app/platform';
import { Pool, PoolClient } from 'pg';
import { canonicalJson, eventHash, SentEvent } from './event-hash';
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
    RETURNING position, version, hash`;
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
    RETURNING position, version, hash`;
}

/**
 * The appends for when the application knows the hash at the expected version (a new stream's is empty; an
 * existing stream's was read with it) and has chained the events' hashes itself: no head to look up and no
 * hashing in the database. The unique (stream_id, version) constraint stops a racing writer as before; the
 * EXISTS checks that the previous event is the one the hashes were chained to, and when it is not the append
 * writes nothing and the store falls back to the statements above, which decide.
 */
function appendHashedOneSql(schema: string): string {
  return `
    INSERT INTO ${schema}.events (stream_id, version, event_id, event_type, schema_version, data, metadata, hash)
    SELECT $1, $2::int + 1, $3, $4, $5, $6, $7, $8
     WHERE $2::int = -1
        OR EXISTS (SELECT FROM ${schema}.events WHERE stream_id = $1 AND version = $2::int AND hash = $9::bytea)
    RETURNING position, version`;
}

function appendHashedSql(schema: string): string {
  return `
    INSERT INTO ${schema}.events (stream_id, version, event_id, event_type, schema_version, data, metadata, hash)
    SELECT $1, $2::int + n::int, (e->>'id')::uuid, e->>'type', (e->>'schemaVersion')::int, e->'data', e->'metadata',
           decode(e->>'hash', 'hex')
      FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS b(e, n)
     WHERE $2::int = -1
        OR EXISTS (SELECT FROM ${schema}.events WHERE stream_id = $1 AND version = $2::int AND hash = $4::bytea)
     ORDER BY n
    RETURNING position, version`;
}

const NO_HASH = Buffer.alloc(0);

/** Appends of up to this many events are hashed in the application (see appendWith). */
const HASHED_HERE_UP_TO = 10;

/**
 * The last version and hash of streams this store read or appended to lately. Each entry is a fact about a
 * committed event (a stream's events are never removed), so an entry can be old but never wrong: it only says
 * which hash an append at that version chains to.
 */
class StreamHeads {
  private readonly heads = new Map<string, { version: number; hash: Buffer }>();

  constructor(private readonly limit: number) {}

  hashAt(streamId: string, version: number): Buffer | undefined {
    const head = this.heads.get(streamId);
    return head?.version === version ? head.hash : undefined;
  }

  set(streamId: string, version: number, hash: Buffer): void {
    this.heads.delete(streamId);
    this.heads.set(streamId, { version, hash });
    if (this.heads.size > this.limit) this.heads.delete(this.heads.keys().next().value as string);
  }

  forget(streamId: string): void {
    this.heads.delete(streamId);
  }
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
  private readonly appendHashedStatement: string;
  private readonly appendHashedOneStatement: string;
  private readonly heads = new StreamHeads(10_000);
  /** Named (parsed and planned once per connection) on a real server; unnamed where connections share a session. */
  private readonly statementName: string | undefined;

  private constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly ownsPool: boolean,
  ) {
    this.appendStatement = appendSql(schema);
    this.appendOneStatement = appendOneSql(schema);
    this.appendHashedStatement = appendHashedSql(schema);
    this.appendHashedOneStatement = appendHashedOneSql(schema);
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
    // A command's few events are hashed here: it spares the database per statement more than the hashing costs
    // the application. A big batch (an import, a generated place) is hashed by the database, where it costs
    // less than canonical JSON and SHA-256 one event at a time in JavaScript.
    const hashHere = events.length <= HASHED_HERE_UP_TO;
    // Written as jsonb prints it where it is hashed here, so the text hashed is the text the database would hash.
    const json = hashHere ? canonicalJson : (v: unknown) => JSON.stringify(v) as string | undefined;
    const sent: SentEvent[] = events.map((e) => ({
      id: e.id,
      type: e.type,
      schemaVersion: e.schemaVersion,
      data: json(e.data),
      metadata: json(e.metadata),
    }));
    // Heads learnt inside a caller's transaction are not kept: it may still roll back.
    const remember = client === this.pool;
    try {
      const previous = !hashHere
        ? undefined
        : expected === 'no_stream'
          ? NO_HASH
          : typeof expected === 'number'
            ? this.heads.hashAt(streamId, expected)
            : undefined;
      const hashes = previous && chain(previous, sent);
      if (previous && hashes) {
        const result = await this.appendHashed(
          client,
          streamId,
          expected as number | 'no_stream',
          sent,
          previous,
          hashes,
        );
        if (result) {
          if (remember) this.heads.set(streamId, result.version, hashes[hashes.length - 1]);
          return result;
        }
        // The event at the expected version is not the one remembered (or is missing): let the database decide.
        this.heads.forget(streamId);
      }
      const one = sent.length === 1;
      const values = one
        ? [streamId, expectedAsParam(expected), ...eventParams(sent[0])]
        : // One JSON document for the batch: no array literal to escape, one parameter to send.
          [streamId, expectedAsParam(expected), batchDocument(sent)];
      // A named statement is parsed and planned once per connection, not on every append.
      const { rows } = await client.query<{ position: number; version: number; hash: Buffer }>({
        name: this.statementName && `${this.statementName}${one ? '-one' : ''}`,
        text: one ? this.appendOneStatement : this.appendStatement,
        values,
      });
      if (rows.length === 0) throw new WrongExpectedVersionError(streamId, expected);
      const last = rows[rows.length - 1];
      if (remember) this.heads.set(streamId, last.version, last.hash);
      return { version: last.version, positions: rows.map((r) => r.position) };
    } catch (e) {
      if ((e as { code?: string }).code === '23505') {
        this.heads.forget(streamId);
        throw new WrongExpectedVersionError(streamId, expected);
      }
      throw this.translate(e);
    }
  }

  /** The append with hashes chained here; null when the stream's event at the expected version is not `previous`. */
  private async appendHashed(
    client: Pool | PoolClient,
    streamId: string,
    expected: number | 'no_stream',
    sent: SentEvent[],
    previous: Buffer,
    hashes: Buffer[],
  ): Promise<AppendResult | null> {
    const at = expected === 'no_stream' ? -1 : expected;
    const one = sent.length === 1;
    const { rows } = await client.query<{ position: number; version: number }>({
      name: this.statementName && `${this.statementName}-hashed${one ? '-one' : ''}`,
      text: one ? this.appendHashedOneStatement : this.appendHashedStatement,
      values: one
        ? [streamId, at, ...eventParams(sent[0]), hashes[0], previous]
        : [streamId, at, batchDocument(sent, hashes), previous],
    });
    if (rows.length === 0) return null;
    return { version: rows[rows.length - 1].version, positions: rows.map((r) => r.position) };
  }

  async readStream(streamId: string): Promise<RecordedEvent[]> {
    const { rows } = await this.query<EventRow>(
      `SELECT ${COLUMNS} FROM ${this.schema}.events WHERE stream_id = $1 ORDER BY version`,
      [streamId],
    );
    if (rows.length) {
      const head = rows[rows.length - 1];
      this.heads.set(streamId, head.version, Buffer.from(head.hash, 'hex'));
    }
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

/** The events' chain hashes after `previous`, or null if one of them must be hashed by the database. */
function chain(previous: Buffer, sent: SentEvent[]): Buffer[] | null {
  const hashes: Buffer[] = [];
  let prev = previous;
  for (const e of sent) {
    const h = eventHash(prev, e);
    if (!h) return null;
    hashes.push(h);
    prev = h;
  }
  return hashes;
}

function eventParams(e: SentEvent): unknown[] {
  return [e.id, e.type, e.schemaVersion, e.data, e.metadata];
}

/** The batch as one JSON array, built from the JSON already made for each event's data and metadata. */
function batchDocument(sent: SentEvent[], hashes?: Buffer[]): string {
  return `[${sent
    .map(
      (e, i) =>
        `{"id":${JSON.stringify(e.id)},"type":${JSON.stringify(e.type)},"schemaVersion":${JSON.stringify(e.schemaVersion)},` +
        `"data":${e.data ?? 'null'},"metadata":${e.metadata ?? 'null'}${hashes ? `,"hash":"${hashes[i].toString('hex')}"` : ''}}`,
    )
    .join(',')}]`;
}

function required(url: string | undefined): string {
  if (!url) throw new Error('An event store needs a pool or a database URL');
  return url;
}
