import {
  BACKWARDS,
  END,
  FORWARDS,
  JSONType,
  jsonEvent,
  KurrentDBClient,
  WrongExpectedVersionError as KurrentWrongExpectedVersion,
  NO_STREAM,
  ReadStreamOptions,
  START,
  StreamNotFoundError,
  streamNameFilter,
} from '@kurrent/kurrentdb-client';
import {
  AppendResult,
  EventStore,
  ExpectedVersion,
  LogCheckpoint,
  NewEvent,
  RangeVerification,
  RecordedEvent,
  StoreUnavailableError,
  WrongExpectedVersionError,
} from './event-store.port';
import {
  chainHash,
  checkNamespace,
  digestOf,
  expectedState,
  isAfter,
  isKurrentUnavailable,
  KurrentRecord,
  kurrentStreams,
  meetsExpectation,
  PositionsTaken,
  propertiesOf,
  recordedOf,
  resumeFrom,
  versionOf,
} from './kurrentdb-encoding';

/** Where a reader of a store's log is told of each new event, in log order, and of a failure. */
export interface LogListener {
  event(e: RecordedEvent): void;
  error(e: unknown): void;
}

/** A live subscription to a store's log: it can be held back while its reader is busy. */
export interface LogSubscription {
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** A log that pushes its new events to a subscriber (KurrentDB's subscription to $all). */
export interface SubscribableLog {
  subscribeToLog(after: LogCheckpoint, listener: LogListener): LogSubscription;
}

/** Where a relay keeps how far it has published. */
export interface RelayCheckpointStore {
  load(relay: string): Promise<LogCheckpoint>;
  save(relay: string, at: LogCheckpoint): Promise<void>;
}

/** How often an append whose positions another writer took first is tried again before giving up. */
const MAX_ATTEMPTS = 20;

/**
 * The event-store port on KurrentDB (ADR 0008); needs KurrentDB 25.1 or later (multi-stream append).
 *
 * Each append is one atomic multi-stream append of: the events to their stream (expected revision: the stream's
 * head, so nobody else wrote in between), one event to the store's positions stream (expected revision: the last
 * one this process saw, so positions are taken one append at a time and are dense, 1, 2, 3 …, in commit order),
 * and one event per event id to a stream of its own (expected: no stream, so an id is recorded once).
 * Hashes are chained on the client from the stream's head, over the same bytes PostgreSQL hashes.
 */
export class KurrentDbEventStore implements EventStore, SubscribableLog {
  private readonly streams: ReturnType<typeof kurrentStreams>;
  /** Appends from this process go one at a time: they would only take each other's positions otherwise. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The positions stream's head as last seen: its revision (null: no stream yet) and the next free position. */
  private positions: { revision: bigint | null; next: number } | null = null;

  private constructor(
    private readonly client: KurrentDBClient,
    readonly namespace: string,
    private readonly ownsClient: boolean,
  ) {
    this.streams = kurrentStreams(namespace);
  }

  /**
   * Opens the store kept under `namespace` (a partner's schema name) on the server at `url` (a KurrentDB
   * connection string such as kurrentdb://host:2113?tls=false) or through a client shared with others.
   * Reads where the store's positions stand, so an unreachable server is known at once (StoreUnavailableError).
   */
  static async open(options: {
    url?: string;
    client?: KurrentDBClient;
    namespace: string;
  }): Promise<KurrentDbEventStore> {
    const namespace = checkNamespace(options.namespace);
    if (!options.client && !options.url) throw new Error('A KurrentDB event store needs a client or a URL');
    const client = options.client ?? KurrentDBClient.connectionString(options.url as string);
    const store = new KurrentDbEventStore(client, namespace, !options.client);
    try {
      await store.loadPositions();
    } catch (e) {
      if (store.ownsClient) await client.dispose().catch(() => undefined);
      throw e;
    }
    return store;
  }

  async append(streamId: string, expected: ExpectedVersion, events: NewEvent[]): Promise<AppendResult> {
    if (events.length === 0) throw new Error('An append needs at least one event');
    expectedState(expected); // refuses a malformed expected version before anything is sent
    // Two events with one id in one append: refused as a retried event is (the id streams would collide).
    if (new Set(events.map((e) => e.id.toLowerCase())).size !== events.length)
      throw new WrongExpectedVersionError(streamId, expected);
    const run = this.queue.then(
      () => this.appendNow(streamId, expected, events),
      () => this.appendNow(streamId, expected, events),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(
    streamId: string,
    expected: ExpectedVersion,
    events: NewEvent[],
  ): Promise<AppendResult> {
    const stream = this.streams.events(streamId);
    for (let attempt = 1; ; attempt++) {
      // From the leader: a follower's copy could be behind, and the append would be refused for it.
      const [head] = await this.read(stream, {
        direction: BACKWARDS,
        fromRevision: END,
        maxCount: 1,
        requiresLeader: true,
      });
      const headVersion = head ? versionOf(head.revision) : -1;
      // Checked here for a clear answer without a write; the server's check below settles any race.
      if (!meetsExpectation(headVersion, expected)) throw new WrongExpectedVersionError(streamId, expected);
      const positions = this.positions ?? (await this.loadPositions());
      let previous = head ? hashOf(head) : '';
      const written = events.map((e, i) => {
        const hash = chainHash(previous, e);
        previous = hash;
        return jsonEvent({
          id: e.id,
          type: e.type,
          data: e.data as JSONType,
          metadata: { ...propertiesOf(e, positions.next + i, hash) },
        });
      });
      const taken: PositionsTaken = {
        first: positions.next,
        count: events.length,
        streamId,
        version: headVersion + 1,
      };
      try {
        await this.client.multiStreamAppend([
          {
            streamName: stream,
            expectedState: headVersion === -1 ? NO_STREAM : BigInt(headVersion),
            events: written,
          },
          {
            streamName: this.streams.positions,
            expectedState: positions.revision ?? NO_STREAM,
            events: [jsonEvent({ type: 'PositionsTaken', data: { ...taken } })],
          },
          ...events.map((e) => ({
            streamName: this.streams.eventId(e.id),
            expectedState: NO_STREAM as typeof NO_STREAM,
            events: [jsonEvent({ type: 'EventIdTaken', data: { streamId } })],
          })),
        ]);
        this.positions = { revision: (positions.revision ?? -1n) + 1n, next: positions.next + events.length };
        return {
          version: headVersion + events.length,
          positions: events.map((_, i) => taken.first + i),
        };
      } catch (e) {
        const conflict = conflictingStream(e);
        if (conflict === undefined) throw this.translate(e);
        if (conflict.startsWith(`${this.namespace}~event-`))
          throw new WrongExpectedVersionError(streamId, expected);
        if (attempt >= MAX_ATTEMPTS) throw new WrongExpectedVersionError(streamId, expected);
        if (conflict === stream && expected !== 'any')
          throw new WrongExpectedVersionError(streamId, expected);
        // Another writer took the next positions (or, for 'any', wrote to the stream) first: look again.
        this.positions = null;
        if (attempt > 2) await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      }
    }
  }

  async readStream(streamId: string): Promise<RecordedEvent[]> {
    const records = await this.read(this.streams.events(streamId), {
      direction: FORWARDS,
      fromRevision: START,
    });
    return records.map((r) => recordedOf(this.namespace, r)).filter((e): e is RecordedEvent => e !== null);
  }

  /**
   * The store's events in $all after a checkpoint, through a filter on the store's stream prefix. KurrentDB
   * writes its log in one sequence and serves $all only up to what is committed, in commit order, so a reader
   * never passes an event that could still appear before its checkpoint.
   */
  async readLog(after: LogCheckpoint, limit: number): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    try {
      for await (const r of this.client.readAll({
        fromPosition: resumeFrom(after),
        direction: FORWARDS,
        // One more than asked: the read starts at the checkpoint's own event, which is dropped below.
        maxCount: limit + 1,
        filter: streamNameFilter({ prefixes: [this.streams.logPrefix] }),
      })) {
        const e = r.event && recordedOf(this.namespace, r.event as KurrentRecord);
        if (!e || !isAfter(e, after)) continue;
        out.push(e);
        if (out.length === limit) break;
      }
    } catch (e) {
      throw this.translate(e);
    }
    return out;
  }

  /**
   * Recomputes the hash chain over a range of the store's positions. The positions stream says which append
   * took `from` (a binary search over it); the range is then read from $all from that event on, and each
   * event's predecessor in its stream is read where it lies outside the range.
   */
  async verifyRange(from: number, to: number): Promise<RangeVerification> {
    const events = await this.eventsBetween(from, to);
    const byVersion = new Map(events.map((e) => [`${e.version}@${e.streamId}`, e]));
    const outside = events.filter((e) => e.version > 0 && !byVersion.has(`${e.version - 1}@${e.streamId}`));
    for (const e of await inBatches(outside, 16, (x) => this.eventAt(x.streamId, x.version - 1)))
      if (e) byVersion.set(`${e.version}@${e.streamId}`, e);
    const altered = events
      .filter((e) => chainHash(byVersion.get(`${e.version - 1}@${e.streamId}`)?.hash ?? '', e) !== e.hash)
      .map((e) => e.position);
    return { from, to, events: events.length, digest: digestOf(events), altered };
  }

  /**
   * Follows the store's log live with KurrentDB's own catch-up subscription to $all, filtered to the store's
   * streams (so no system events, no other store's and none of its bookkeeping), from after a checkpoint.
   */
  subscribeToLog(after: LogCheckpoint, listener: LogListener): LogSubscription {
    let stopped = false;
    const subscription = this.client.subscribeToAll({
      fromPosition: resumeFrom(after),
      filter: streamNameFilter({ prefixes: [this.streams.logPrefix] }),
    });
    subscription.on('data', (r) => {
      try {
        const e = r.event && recordedOf(this.namespace, r.event as KurrentRecord);
        if (e && isAfter(e, after)) listener.event(e);
      } catch (err) {
        listener.error(err);
      }
    });
    subscription.on('error', (err) => {
      if (!stopped) listener.error(this.translate(err));
    });
    subscription.on('close', () => {
      if (!stopped) listener.error(new StoreUnavailableError(new Error('KurrentDB closed the subscription')));
    });
    return {
      pause: () => subscription.pause(),
      resume: () => subscription.resume(),
      stop: async () => {
        stopped = true;
        await subscription.unsubscribe().catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.dispose();
  }

  private async loadPositions(): Promise<{ revision: bigint | null; next: number }> {
    const [last] = await this.read(this.streams.positions, {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: 1,
      requiresLeader: true,
    });
    const taken = last?.data as PositionsTaken | undefined;
    this.positions =
      last && taken
        ? { revision: last.revision, next: taken.first + taken.count }
        : { revision: null, next: 1 };
    return this.positions;
  }

  /** The events whose positions lie in [from, to], in position order. */
  private async eventsBetween(from: number, to: number): Promise<RecordedEvent[]> {
    if (to < from) return [];
    const start = await this.appendTaking(from);
    if (!start) return [];
    const first = await this.eventAt(start.streamId, start.version);
    if (!first) return [];
    const out: RecordedEvent[] = [];
    try {
      for await (const r of this.client.readAll({
        fromPosition: resumeFrom(first),
        direction: FORWARDS,
        filter: streamNameFilter({ prefixes: [this.streams.logPrefix] }),
      })) {
        const e = r.event && recordedOf(this.namespace, r.event as KurrentRecord);
        if (!e || e.position < from) continue;
        // Positions grow along $all within a store (taken one append at a time, in commit order).
        if (e.position > to) break;
        out.push(e);
      }
    } catch (e) {
      throw this.translate(e);
    }
    return out;
  }

  /** The first event at or after a position: found by a binary search over the positions stream. */
  private async appendTaking(position: number): Promise<{ streamId: string; version: number } | null> {
    const takenAt = async (revision: bigint) => {
      const [r] = await this.read(this.streams.positions, {
        direction: FORWARDS,
        fromRevision: revision,
        maxCount: 1,
      });
      return r?.data as PositionsTaken | undefined;
    };
    const [last] = await this.read(this.streams.positions, {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: 1,
    });
    const lastTaken = last?.data as PositionsTaken | undefined;
    if (!last || !lastTaken || lastTaken.first + lastTaken.count - 1 < position) return null;
    let lo = 0n;
    let hi = last.revision;
    while (lo < hi) {
      const mid = (lo + hi + 1n) / 2n;
      const t = await takenAt(mid);
      if (t && t.first <= position) lo = mid;
      else hi = mid - 1n;
    }
    const t = await takenAt(lo);
    if (!t) return null;
    return {
      streamId: t.streamId,
      version: t.version + Math.max(0, Math.min(position - t.first, t.count - 1)),
    };
  }

  private async eventAt(streamId: string, version: number): Promise<RecordedEvent | null> {
    const [r] = await this.read(this.streams.events(streamId), {
      direction: FORWARDS,
      fromRevision: BigInt(version),
      maxCount: 1,
    });
    return r && versionOf(r.revision) === version ? recordedOf(this.namespace, r) : null;
  }

  /** A stream's records (none if it does not exist), with a failure to reach the server as StoreUnavailableError. */
  private async read(stream: string, options: ReadStreamOptions): Promise<KurrentRecord[]> {
    const out: KurrentRecord[] = [];
    try {
      for await (const r of this.client.readStream(stream, options))
        if (r.event) out.push(r.event as KurrentRecord);
    } catch (e) {
      if (e instanceof StreamNotFoundError || (e as { type?: string }).type === 'stream-not-found') return [];
      throw this.translate(e);
    }
    return out;
  }

  private translate(e: unknown): unknown {
    return isKurrentUnavailable(e) ? new StoreUnavailableError(e) : e;
  }
}

function hashOf(r: KurrentRecord): string {
  return ((r.metadata as Record<string, string> | undefined)?.['hls.hash'] ?? '') as string;
}

/** The stream a KurrentDB append conflicted on ('' if the error does not say), or undefined if it was no conflict. */
function conflictingStream(e: unknown): string | undefined {
  if (e instanceof KurrentWrongExpectedVersion || (e as { type?: string })?.type === 'wrong-expected-version')
    return (e as { streamName?: string }).streamName ?? '';
  return undefined;
}

async function inBatches<T, R>(items: T[], size: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size)
    out.push(...(await Promise.all(items.slice(i, i + size).map(f))));
  return out;
}
