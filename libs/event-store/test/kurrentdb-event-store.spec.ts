import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { jsonEvent, KurrentDBClient } from '@kurrent/kurrentdb-client';
import { uniqueSchema } from '../../../test/harness';
import {
  checkpointOf,
  digestOf,
  isKurrentUnavailable,
  KurrentDbEventStore,
  LOG_START,
  RecordedEvent,
  StoreUnavailableError,
} from '../src';
import { eventStoreContract, newEvent, readWholeLog } from './event-store.contract';
import { KurrentDbStandIn } from './kurrentdb-stand-in';

/**
 * The KurrentDB adapter against a KurrentDB server (25.1 or later) named by KURRENTDB_URL, for example
 * kurrentdb://127.0.0.1:2113?tls=false (the docker-compose.yml service). Without one the suite is skipped and says
 * so: skipped tests are reported as skipped, never as passed. The adapter's own logic also runs everywhere on an
 * in-memory stand-in for the client (labelled as such), and the last block checks a refused connection.
 */
const url = process.env.KURRENTDB_URL?.trim();
if (!url)
  console.warn(
    'KurrentDB event-store contract suite NOT RUN: KURRENTDB_URL is not set, so there is no KurrentDB server to ' +
      'hold the adapter to the contract. Its tests are reported as skipped. Set KURRENTDB_URL (e.g. ' +
      'kurrentdb://127.0.0.1:2113?tls=false) to run them.',
  );
const onServer = url ? describe : describe.skip;

/** The contract, and what the KurrentDB adapter adds to it; `open` gives a store, by default in a new namespace. */
function kurrentDbSuite(label: string, open: (namespace?: string) => Promise<KurrentDbEventStore>): void {
  eventStoreContract(label, () => open());

  describe(`${label}: beyond the contract`, () => {
    it('takes dense, unique positions in commit order when two store instances append to one namespace at once', async () => {
      const namespace = uniqueSchema('es');
      const a = await open(namespace);
      const b = await open(namespace);
      try {
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 2 ? a : b).append(`s-${i % 5}`, 'any', [newEvent(`p${i}`)]),
          ),
        );
        const positions = results.flatMap((r) => r.positions).sort((x, y) => x - y);
        expect(positions).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
        const log = await readWholeLog(a);
        expect(log.map((e) => e.position)).toEqual(positions);
        expect(await a.verifyRange(1, 40)).toMatchObject({ events: 40, altered: [] });
        for (let s = 0; s < 5; s++)
          expect((await b.readStream(`s-${s}`)).map((e) => e.version)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('verifies a range in the middle of a long log, and an empty range past its end', async () => {
      const store = await open();
      try {
        for (let i = 0; i < 60; i++)
          await store.append(`s-${i % 7}`, 'any', [newEvent(`p${i}`), newEvent(`q${i}`)]);
        const log = await readWholeLog(store);
        const middle = await store.verifyRange(37, 81);
        expect(middle).toMatchObject({ events: 45, altered: [] });
        expect(middle.digest).toBe(digestOf(log.filter((e) => e.position >= 37 && e.position <= 81)));
        expect((await store.verifyRange(1, 1)).events).toBe(1);
        expect((await store.verifyRange(120, 400)).events).toBe(1);
        expect(await store.verifyRange(500, 600)).toMatchObject({ events: 0, digest: '', altered: [] });
      } finally {
        await store.close();
      }
    });

    it('follows its log live through the subscription to $all, from after a checkpoint, skipping no event', async () => {
      const store = await open();
      try {
        await store.append('s', 'no_stream', [newEvent('before-1'), newEvent('before-2')]);
        const [first] = await store.readLog(LOG_START, 1);
        const seen: RecordedEvent[] = [];
        const failures: unknown[] = [];
        const sub = store.subscribeToLog(checkpointOf(first), {
          event: (e) => seen.push(e),
          error: (e) => failures.push(e),
        });
        for (let i = 0; i < 10; i++) await store.append(`t-${i % 2}`, 'any', [newEvent(`live-${i}`)]);
        const deadline = Date.now() + 10000;
        while (seen.length < 11 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        await sub.stop();
        expect(failures).toEqual([]);
        expect(seen.map((e) => e.metadata.subject)).toEqual([
          'before-2',
          ...Array.from({ length: 10 }, (_, i) => `live-${i}`),
        ]);
      } finally {
        await store.close();
      }
    });
  });
}

onServer(`KurrentDB adapter on ${url ?? 'no server (KURRENTDB_URL not set): NOT RUN'}`, () => {
  kurrentDbSuite('KurrentDB adapter', (namespace = uniqueSchema('es')) =>
    KurrentDbEventStore.open({ url, namespace }),
  );
});

describe('KurrentDB adapter logic on an in-memory stand-in for the client (not KurrentDB: proves nothing about a server)', () => {
  const standIn = new KurrentDbStandIn();
  kurrentDbSuite('KurrentDB adapter on the stand-in', (namespace = uniqueSchema('es')) =>
    KurrentDbEventStore.open({ client: standIn.client, namespace }),
  );

  it('names an event whose content no longer matches its hash, and not the ones chained after it (they chain to the stored hash)', async () => {
    const namespace = uniqueSchema('es');
    const store = await KurrentDbEventStore.open({ client: standIn.client, namespace });
    const { positions } = await store.append('s', 'no_stream', [newEvent('x'), newEvent('x'), newEvent('x')]);
    const before = await store.verifyRange(positions[0], positions[2]);
    standIn.tamper(`${namespace}/s`, 1, { n: 20 });
    const after = await store.verifyRange(positions[0], positions[2]);
    expect(before.altered).toEqual([]);
    expect(after.altered).toEqual([positions[1]]);
    // The digest is over the stored hashes, which the damage did not touch; the altered list is what tells.
    expect(after.digest).toBe(before.digest);
  });
});

describe('KurrentDB adapter without a server (runs everywhere)', () => {
  let closedUrl: string;
  beforeAll(async () => {
    // A port that was just free and is closed again: nothing listens there.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    await new Promise((r) => server.close(r));
    closedUrl = `kurrentdb://127.0.0.1:${port}?tls=false`;
  });

  it('reports a refused connection as StoreUnavailableError (HTTP 503), at once', async () => {
    const started = Date.now();
    const failure = await KurrentDbEventStore.open({
      url: closedUrl,
      namespace: 'partner_fresh_start',
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).message).toMatch(/unavailable just now; nothing was recorded/);
    console.log(`A refused KurrentDB connection was reported in ${Date.now() - started} ms`);
  });

  it("recognises the client's own errors for a refused connection on the append and $all read paths", async () => {
    const client = KurrentDBClient.connectionString(closedUrl);
    try {
      const append = await client
        .multiStreamAppend([
          {
            streamName: 'x',
            expectedState: 'any',
            events: [jsonEvent({ id: randomUUID(), type: 'T', data: {} })],
          },
        ])
        .catch((e: unknown) => e);
      expect(isKurrentUnavailable(append)).toBe(true);
      const readAll = await (async () => {
        for await (const _ of client.readAll({ maxCount: 1 })) return 'read something';
      })().catch((e: unknown) => e);
      expect(isKurrentUnavailable(readAll)).toBe(true);
    } finally {
      await client.dispose();
    }
  });

  it('refuses a namespace that could reach into another store, before connecting', async () => {
    await expect(KurrentDbEventStore.open({ url: closedUrl, namespace: 'a/b' })).rejects.toThrow(/namespace/);
  });
});
