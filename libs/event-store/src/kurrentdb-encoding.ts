import { createHash } from 'node:crypto';
import { canonicalJson } from './event-hash';
import {
  ExpectedVersion,
  LogCheckpoint,
  NewEvent,
  PROVENANCE_BLOCK,
  RecordedEvent,
} from './event-store.port';

/**
 * How the event-store port maps onto KurrentDB (ADR 0008). Pure functions only, so that each mapping is tested
 * without a server: names of streams, versions and expected versions, the log's checkpoints, the hash chain
 * (the same bytes PostgreSQL hashes) and the provenance digest of a range of positions.
 */

/** A store's namespace on a shared server: the same rule as a PostgreSQL schema name. */
export function checkNamespace(namespace: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(namespace))
    throw new Error(
      `"${namespace}" is not a usable KurrentDB namespace (lower case letters, digits and _, as a schema name)`,
    );
  return namespace;
}

/**
 * The streams one store keeps on the server. Only the event streams start with `<namespace>/`, so one prefix
 * filter on $all reads a store's log and nothing else: no system events ($-streams), no other store's events and
 * none of the store's own bookkeeping (`<namespace>~…`).
 */
export const kurrentStreams = (namespace: string) => ({
  logPrefix: `${namespace}/`,
  events: (streamId: string) => `${namespace}/${streamId}`,
  /** One small event per append, each taking the next positions: appends are ordered through it. */
  positions: `${namespace}~positions`,
  /** One stream per event id, written only if it does not exist: an event id is recorded once per store. */
  eventId: (id: string) => `${namespace}~event-${id.toLowerCase()}`,
});

/** The port's streamId from a KurrentDB stream name of this store, or null if it is not one of its event streams. */
export function streamIdOf(namespace: string, streamName: string): string | null {
  const prefix = `${namespace}/`;
  return streamName.startsWith(prefix) ? streamName.slice(prefix.length) : null;
}

/**
 * Versions: the port's versions are 0-based (the first event of a stream is version 0, as in the PostgreSQL
 * adapter) and so are KurrentDB's stream revisions, so a version is the revision as a number.
 */
export const versionOf = (revision: bigint): number => Number(revision);

/** KurrentDB's expected stream state for the port's expected version. */
export function expectedState(expected: ExpectedVersion): 'any' | 'no_stream' | bigint {
  if (expected === 'any' || expected === 'no_stream') return expected;
  // -1, "before the first event", is how a folded stream says it has none: PostgreSQL takes it as no_stream too.
  if (expected === -1) return 'no_stream';
  if (!Number.isSafeInteger(expected) || expected < 0)
    throw new Error(`An expected version is a whole number from 0, 'no_stream' or 'any' (got ${expected})`);
  return BigInt(expected);
}

/** Whether a stream whose last version is `head` (-1 when it does not exist) is where the caller expects it. */
export function meetsExpectation(head: number, expected: ExpectedVersion): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return head === -1;
  return head === expected;
}

/**
 * Checkpoints: `transactionId` is the event's commit position in $all (decimal), `position` the store's own
 * position. The log is read in (commit position, position) order. Reading resumes at the checkpoint's commit
 * position: KurrentDB gives an event the same commit and prepare position unless it was written in an explicit
 * transaction, which this adapter never uses, so {commit, prepare} = {c, c} is where the event starts.
 */
export function resumeFrom(after: LogCheckpoint): 'start' | { commit: bigint; prepare: bigint } {
  const commit = BigInt(after.transactionId);
  return commit === 0n ? 'start' : { commit, prepare: commit };
}

/** Whether an event comes after a checkpoint in the log's order (a read may repeat the checkpoint's own event). */
export function isAfter(e: Pick<RecordedEvent, 'transactionId' | 'position'>, after: LogCheckpoint): boolean {
  const a = BigInt(e.transactionId);
  const b = BigInt(after.transactionId);
  return a > b || (a === b && e.position > after.position);
}

/**
 * The text PostgreSQL gives `jsonb` (`jsonb::text`), written by the same function the PostgreSQL adapter hashes
 * with (`canonicalJson`), so the same event hashes the same on either adapter.
 */
export function jsonbText(value: unknown): string {
  const text = canonicalJson(value);
  if (text === undefined) throw new Error(`Cannot hash ${typeof value} as JSON`);
  return text;
}

/**
 * An event's chain hash: SHA-256 over the previous event's hash in its stream (no bytes for the first) followed by
 * the UTF-8 text of [id, type, schemaVersion, data, metadata] as jsonb prints it. The PostgreSQL adapter's
 * event_hash() computes the same.
 */
export function chainHash(
  previousHash: string,
  e: Pick<NewEvent, 'id' | 'type' | 'schemaVersion' | 'data' | 'metadata'>,
): string {
  return createHash('sha256')
    .update(Buffer.from(previousHash, 'hex'))
    .update(jsonbText([e.id.toLowerCase(), e.type, e.schemaVersion, e.data, e.metadata]), 'utf8')
    .digest('hex');
}

/**
 * A range's provenance digest (see PROVENANCE_BLOCK), the same as the PostgreSQL adapter's: each block's SHA-256
 * over its events' hashes in position order, then SHA-256 over the blocks' digests in order; '' for no events.
 */
export function digestOf(events: Pick<RecordedEvent, 'position' | 'hash'>[]): string {
  if (events.length === 0) return '';
  const sorted = [...events].sort((a, b) => a.position - b.position);
  const overall = createHash('sha256');
  let block = Math.floor(sorted[0].position / PROVENANCE_BLOCK);
  let current = createHash('sha256');
  for (const e of sorted) {
    const b = Math.floor(e.position / PROVENANCE_BLOCK);
    if (b !== block) {
      overall.update(current.digest());
      current = createHash('sha256');
      block = b;
    }
    current.update(Buffer.from(e.hash, 'hex'));
  }
  overall.update(current.digest());
  return overall.digest('hex');
}

/** What the adapter keeps with each event, as KurrentDB's multi-stream append takes it: strings only. */
export interface KurrentProperties {
  'hls.schemaVersion': string;
  'hls.metadata': string;
  'hls.position': string;
  'hls.hash': string;
}

export function propertiesOf(e: NewEvent, position: number, hash: string): KurrentProperties {
  return {
    'hls.schemaVersion': String(e.schemaVersion),
    // Whole, as JSON: the port's metadata may gain fields, and the properties hold strings only.
    'hls.metadata': JSON.stringify(e.metadata),
    'hls.position': String(position),
    'hls.hash': hash,
  };
}

/** The parts of a KurrentDB client's recorded event this adapter reads. */
export interface KurrentRecord {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  created: Date;
  data: unknown;
  metadata?: unknown;
  position?: { commit: bigint; prepare: bigint };
}

/** A recorded event of this store as the port gives it, or null for anything else (another store's, a system event). */
export function recordedOf(namespace: string, r: KurrentRecord): RecordedEvent | null {
  const streamId = streamIdOf(namespace, r.streamId);
  const p = r.metadata as Partial<KurrentProperties> | undefined;
  if (streamId === null || !p || typeof p !== 'object' || p['hls.position'] === undefined) return null;
  if (!r.position)
    throw new Error(`KurrentDB gave event ${r.id} without its position in $all (server before 22.6?)`);
  return {
    id: r.id,
    type: r.type,
    schemaVersion: Number(p['hls.schemaVersion']),
    data: r.data,
    metadata: JSON.parse(p['hls.metadata'] ?? '{}'),
    streamId,
    version: versionOf(r.revision),
    position: Number(p['hls.position']),
    transactionId: r.position.commit.toString(),
    recordedAt: r.created.toISOString(),
    hash: p['hls.hash'] ?? '',
  };
}

/** What an append takes from the positions stream, and what a range verification looks up there. */
export interface PositionsTaken {
  first: number;
  count: number;
  streamId: string;
  /** The version of the append's first event in its stream. */
  version: number;
}

/**
 * Whether a KurrentDB client error means the server could not be reached or did not answer in time (so nothing
 * is known to be written and the caller may try again: HTTP 503), as opposed to a refusal of what was asked.
 */
export function isKurrentUnavailable(e: unknown): boolean {
  if (!e || typeof e !== 'object') return false;
  const err = e as { type?: string; code?: number; name?: string; message?: string };
  if (err.type === 'unavailable' || err.type === 'deadline-exceeded' || err.type === 'not-leader')
    return true;
  if (err.type === 'timeout' || err.type === 'cancelled') return true;
  // Raw gRPC errors from a channel that never connected: 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED.
  if (err.code === 14 || err.code === 4) return true;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|No connection established/.test(err.message ?? '');
}
