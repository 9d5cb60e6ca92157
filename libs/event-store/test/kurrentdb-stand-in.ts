import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import {
  AppendStreamRequest,
  KurrentDBClient,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import { KurrentRecord } from '../src';

/**
 * An in-memory stand-in for the parts of `KurrentDBClient` the adapter calls, NOT KurrentDB: it behaves as the
 * client's documentation and type definitions say the server does (atomic multi-stream appends with an expected
 * state per stream, conflicts naming their stream, sparse byte-offset positions in $all, system events in $all,
 * filtered reads counting matching events, properties read back as metadata with keys the server adds). It lets the
 * adapter's own logic (positions, hash chain, id uniqueness, range verification, log checkpoints) run here; it
 * proves nothing about a real server, which only the suite with KURRENTDB_URL does.
 */
export class KurrentDbStandIn {
  private readonly all: KurrentRecord[] = [];
  private readonly streams = new Map<string, KurrentRecord[]>();
  private commit = 0n;
  private readonly live = new Set<{ feed: PassThrough; prefixes: string[] }>();

  /** As the adapter sees it. */
  get client(): KurrentDBClient {
    return this as unknown as KurrentDBClient;
  }

  /** What a server writes of its own between clients' events: the filter must keep them out of a store's log. */
  writeSystemEvent(): void {
    this.write('$stats-127.0.0.1:2113', {
      id: randomUUID(),
      type: '$statsCollected',
      data: {},
      metadata: undefined,
    });
  }

  /** Alters a recorded event's data behind the store's back, as only damage on disk could on a real server. */
  tamper(stream: string, revision: number, data: unknown): void {
    const r = this.streams.get(stream)?.[revision];
    if (!r) throw new Error(`no event ${revision} in ${stream}`);
    r.data = data;
  }

  async multiStreamAppend(requests: AppendStreamRequest[]) {
    await new Promise((r) => setImmediate(r)); // concurrent appends interleave here, as over a network
    for (const r of requests) {
      const current = this.streams.get(r.streamName);
      const head = current ? BigInt(current.length - 1) : ('no_stream' as const);
      const ok =
        r.expectedState === 'any' ||
        (r.expectedState === 'no_stream' && head === 'no_stream') ||
        (r.expectedState === 'stream_exists' && head !== 'no_stream') ||
        r.expectedState === head;
      if (!ok)
        throw new WrongExpectedVersionError(undefined as never, {
          streamName: r.streamName,
          expected: r.expectedState,
          current: head,
        });
    }
    for (const r of requests)
      for (const e of r.events)
        this.write(r.streamName, e as { id: string; type: string; data: unknown; metadata: unknown });
    this.writeSystemEvent(); // a busy server: its own events between every client's
    return { position: this.commit, responses: [] };
  }

  async *readStream(
    name: string,
    o: { direction?: string; fromRevision?: bigint | 'start' | 'end'; maxCount?: number | bigint } = {},
  ): AsyncGenerator<{ event: KurrentRecord }> {
    const records = this.streams.get(name);
    if (!records) throw new StreamNotFoundError(undefined, name);
    const backwards = o.direction === 'backwards';
    const from =
      o.fromRevision === undefined || o.fromRevision === 'start'
        ? backwards
          ? records.length - 1
          : 0
        : o.fromRevision === 'end'
          ? records.length - 1
          : Number(o.fromRevision);
    let left = Number(o.maxCount ?? Number.MAX_SAFE_INTEGER);
    for (let i = from; left > 0 && i >= 0 && i < records.length; i += backwards ? -1 : 1, left--)
      yield { event: records[i] };
  }

  async *readAll(
    o: {
      fromPosition?: 'start' | { commit: bigint; prepare: bigint };
      maxCount?: number | bigint;
      filter?: { prefixes?: string[] };
    } = {},
  ): AsyncGenerator<{ event: KurrentRecord }> {
    const from = !o.fromPosition || o.fromPosition === 'start' ? -1n : o.fromPosition.commit;
    let left = Number(o.maxCount ?? Number.MAX_SAFE_INTEGER);
    for (const r of [...this.all]) {
      if (left <= 0) return;
      if ((r.position?.commit ?? 0n) < from || !matches(r, o.filter?.prefixes)) continue;
      left--;
      yield { event: r };
    }
  }

  subscribeToAll(o: { fromPosition?: 'start' | { commit: bigint }; filter?: { prefixes?: string[] } } = {}) {
    const feed = new PassThrough({ objectMode: true });
    const entry = { feed, prefixes: o.filter?.prefixes ?? [] };
    const from = !o.fromPosition || o.fromPosition === 'start' ? -1n : o.fromPosition.commit;
    // A subscription starts after its position.
    for (const r of this.all)
      if ((r.position?.commit ?? 0n) > from && matches(r, entry.prefixes)) feed.write({ event: r });
    this.live.add(entry);
    return Object.assign(feed, {
      unsubscribe: async () => {
        this.live.delete(entry);
        feed.end();
      },
    });
  }

  async dispose(): Promise<void> {}

  private write(stream: string, e: { id: string; type: string; data: unknown; metadata: unknown }) {
    const records = this.streams.get(stream) ?? [];
    this.streams.set(stream, records);
    // Positions in $all are byte offsets in the transaction file: sparse, large, increasing.
    this.commit += BigInt(100 + Math.floor(Math.random() * 400));
    const r: KurrentRecord = {
      streamId: stream,
      id: e.id,
      revision: BigInt(records.length),
      type: e.type,
      created: new Date(),
      // Stored as JSON text and parsed again on reading.
      data: JSON.parse(JSON.stringify(e.data)),
      metadata: e.metadata
        ? {
            ...(e.metadata as object),
            '$schema.format': 'Json',
            '$schema.name': e.type,
            '$record.timestamp': 'x',
          }
        : undefined,
      position: { commit: this.commit, prepare: this.commit },
    };
    records.push(r);
    this.all.push(r);
    for (const s of this.live) if (matches(r, s.prefixes)) s.feed.write({ event: r });
  }
}

function matches(r: KurrentRecord, prefixes: string[] | undefined): boolean {
  return !prefixes || prefixes.length === 0 || prefixes.some((p) => r.streamId.startsWith(p));
}
