import { UnavailableError } from '@app/platform';

/** The four scales of learning at which every event is recorded (DESIGN.md decision 5). */
export type Scale = 'person' | 'team' | 'organisation' | 'place';

/** Who did it, on whose behalf, and why it happened: carried with every event. */
export interface EventMetadata {
  partner: string;
  scale: Scale;
  actor: string;
  correlationId: string;
  causationId?: string;
  /** The subject the event is about (a person's consortium reference, a learning cycle id): the Kafka key. */
  subject: string;
  /** When it happened in the world, as the command said; the store adds when it was recorded. */
  occurredAt: string;
  /** The W3C trace context of the append that recorded it: the relay's publish continues that trace. */
  traceparent?: string;
  tracestate?: string;
}

export interface NewEvent<T extends string = string, D = unknown> {
  id: string;
  type: T;
  schemaVersion: number;
  data: D;
  metadata: EventMetadata;
}

export interface RecordedEvent<T extends string = string, D = unknown> extends NewEvent<T, D> {
  streamId: string;
  version: number;
  /** Global position in this store's log: unique, increasing in allocation order (not commit order). */
  position: number;
  /** The writing transaction: the log is read in (transactionId, position) order, which is commit-safe. */
  transactionId: string;
  recordedAt: string;
  /** SHA-256 (hex) over the event's content and the previous event's hash in its stream. */
  hash: string;
}

/**
 * Positions per block of a range's digest. A range digests as SHA-256 over its blocks' digests in order, each
 * block's SHA-256 over its events' chain hashes in position order (block = position / PROVENANCE_BLOCK, integer
 * division): the same events give the same digest on every side, and a reader that keeps its finished blocks'
 * digests recomputes only the blocks that changed.
 */
export const PROVENANCE_BLOCK = 4096;

/** What a range of a store's log hashes to, and which events in it no longer match their hashes. */
export interface RangeVerification {
  from: number;
  to: number;
  events: number;
  /** SHA-256 (hex) over the range's block digests (see PROVENANCE_BLOCK). */
  digest: string;
  altered: number[];
}

/** A number is the version the stream must be at; 'no_stream' means it must not exist; 'any' skips the check. */
export type ExpectedVersion = number | 'no_stream' | 'any';

/** Where a reader of the global log has got to. */
export interface LogCheckpoint {
  transactionId: string;
  position: number;
}

export const LOG_START: LogCheckpoint = { transactionId: '0', position: 0 };

export interface AppendResult {
  /** The stream's version after the append. */
  version: number;
  positions: number[];
}

export class WrongExpectedVersionError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
  ) {
    super(
      `Stream ${streamId} was changed by someone else (expected version ${expected}); reload and try again`,
    );
    this.name = 'WrongExpectedVersionError';
  }
}

/** The store was unreachable: the caller may try again later (HTTP 503), nothing was written. */
export class StoreUnavailableError extends UnavailableError {
  constructor(cause: unknown) {
    super('The event store is unavailable just now; nothing was recorded. Try again shortly.', cause);
  }
}

/** The port: the system of record for one partner. */
export interface EventStore {
  /** Appends all events or none, in one round trip; a wrong expected version throws WrongExpectedVersionError. */
  append(streamId: string, expected: ExpectedVersion, events: NewEvent[]): Promise<AppendResult>;
  readStream(streamId: string): Promise<RecordedEvent[]>;
  /**
   * The global log after a checkpoint, in commit-safe order: never returns an event while an earlier-started
   * transaction could still commit before it, so a subscriber that follows checkpoints never skips one.
   */
  readLog(after: LogCheckpoint, limit: number): Promise<RecordedEvent[]>;
  /** Recomputes the hash chain over a range of positions: the basis of verifying an evidence pack. */
  verifyRange(from: number, to: number): Promise<RangeVerification>;
  close(): Promise<void>;
}

export function checkpointOf(e: RecordedEvent): LogCheckpoint {
  return { transactionId: e.transactionId, position: e.position };
}
