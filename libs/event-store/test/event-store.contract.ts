import { randomUUID } from 'node:crypto';
import {
  checkpointOf,
  EventStore,
  LOG_START,
  LogCheckpoint,
  NewEvent,
  RecordedEvent,
  WrongExpectedVersionError,
} from '../src';

export function newEvent(subject: string, type = 'ContactRecorded', data: unknown = { n: 1 }): NewEvent {
  return {
    id: randomUUID(),
    type,
    schemaVersion: 1,
    data,
    metadata: {
      partner: 'fresh-start',
      scale: 'person',
      actor: 'worker-1',
      correlationId: randomUUID(),
      subject,
      occurredAt: '2026-11-20T10:00:00.000Z',
    },
  };
}

/** Reads the whole log the way a subscriber does: batch after batch from its checkpoint. */
export async function readWholeLog(
  store: EventStore,
  from: LogCheckpoint = LOG_START,
): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  let at = from;
  for (;;) {
    const batch = await store.readLog(at, 100);
    if (batch.length === 0) return all;
    all.push(...batch);
    at = checkpointOf(batch[batch.length - 1]);
  }
}

/**
 * The log once at least `count` events after `from` are visible. The log shows only what no earlier-started
 * transaction could still precede, and on a shared server any open transaction holds that line back for a while.
 */
export async function readVisibleLog(
  store: EventStore,
  count: number,
  from: LogCheckpoint = LOG_START,
  timeoutMs = 30_000,
): Promise<RecordedEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await readWholeLog(store, from);
    if (log.length >= count || Date.now() > deadline) return log;
    await new Promise((res) => setTimeout(res, 100));
  }
}

/**
 * What every adapter of the event-store port must do. `open` gives a fresh, empty store each time.
 */
export function eventStoreContract(adapter: string, open: () => Promise<EventStore>): void {
  describe(`event store contract: ${adapter}`, () => {
    let store: EventStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('appends to a new stream and reads it back in order with its metadata', async () => {
      const events = [newEvent('NE-1'), newEvent('NE-1', 'ContactRecorded', { n: 2 })];
      const result = await store.append('person-NE-1', 'no_stream', events);
      expect(result.version).toBe(1);
      expect(result.positions).toHaveLength(2);
      expect(result.positions[1]).toBeGreaterThan(result.positions[0]);
      const read = await store.readStream('person-NE-1');
      expect(read.map((e) => [e.id, e.version, e.data])).toEqual([
        [events[0].id, 0, { n: 1 }],
        [events[1].id, 1, { n: 2 }],
      ]);
      expect(read[0].metadata).toEqual(events[0].metadata);
      expect(read[0].schemaVersion).toBe(1);
      expect(Date.parse(read[0].recordedAt)).not.toBeNaN();
    });

    it('reads an unknown stream as empty', async () => {
      expect(await store.readStream('person-nobody')).toEqual([]);
    });

    it('appends at the expected version and refuses a stale one, writing nothing', async () => {
      await store.append('s', 'no_stream', [newEvent('x')]);
      await store.append('s', 0, [newEvent('x')]);
      await expect(store.append('s', 0, [newEvent('x')])).rejects.toBeInstanceOf(WrongExpectedVersionError);
      await expect(store.append('s', 'no_stream', [newEvent('x')])).rejects.toBeInstanceOf(
        WrongExpectedVersionError,
      );
      await expect(store.append('s', 5, [newEvent('x')])).rejects.toBeInstanceOf(WrongExpectedVersionError);
      expect((await store.readStream('s')).map((e) => e.version)).toEqual([0, 1]);
    });

    it("appends at 'any' version whatever the stream holds", async () => {
      await store.append('s', 'any', [newEvent('x')]);
      await store.append('s', 'any', [newEvent('x'), newEvent('x')]);
      expect((await store.readStream('s')).map((e) => e.version)).toEqual([0, 1, 2]);
    });

    it('lets exactly one of many concurrent writers at one version win', async () => {
      await store.append('contested', 'no_stream', [newEvent('x')]);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, () => store.append('contested', 0, [newEvent('x')])),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes.filter((o) => o.status === 'rejected')) {
        expect((o as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
      }
      expect(await store.readStream('contested')).toHaveLength(2);
    });

    it('refuses a second event with the same id (a retried command is not recorded twice)', async () => {
      const e = newEvent('x');
      await store.append('a', 'any', [e]);
      await expect(store.append('b', 'any', [e])).rejects.toBeInstanceOf(WrongExpectedVersionError);
      expect(await store.readStream('b')).toEqual([]);
    });

    it('chains each event to the one before it in its stream, and digests a range of positions the same way twice', async () => {
      const a = await store.append('chain', 'no_stream', [newEvent('x'), newEvent('x')]);
      await store.append('other', 'no_stream', [newEvent('y')]);
      await store.append('chain', 1, [newEvent('x')]);
      const chain = await store.readStream('chain');
      expect(new Set(chain.map((e) => e.hash)).size).toBe(3);
      for (const e of chain) expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
      const first = await store.verifyRange(a.positions[0], a.positions[0] + 10);
      expect(first).toMatchObject({ events: 4, altered: [] });
      expect((await store.verifyRange(a.positions[0], a.positions[0] + 10)).digest).toBe(first.digest);
      expect((await store.verifyRange(a.positions[0], a.positions[0] + 1)).digest).not.toBe(first.digest);
    });

    it('reads the global log from a checkpoint, in order, across streams', async () => {
      for (let i = 0; i < 25; i++) await store.append(`s-${i % 3}`, 'any', [newEvent(`p${i}`)]);
      const log = await readVisibleLog(store, 25);
      expect(log).toHaveLength(25);
      expect(log.map((e) => e.metadata.subject)).toEqual(Array.from({ length: 25 }, (_, i) => `p${i}`));
      const rest = await readWholeLog(store, checkpointOf(log[9]));
      expect(rest.map((e) => e.id)).toEqual(log.slice(10).map((e) => e.id));
      expect(await store.readLog(checkpointOf(log[24]), 10)).toEqual([]);
    });
  });
}
