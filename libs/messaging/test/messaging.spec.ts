import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '@app/event-store';
import { createPool } from '@app/platform';
import { Pool } from 'pg';
import { eventually, harnessState, testBus, uniqueSchema } from '../../../test/harness';
import { newEvent } from '../../event-store/test/event-store.contract';
import {
  CloudEvent,
  DeadLetter,
  Delivery,
  parseCloudEventType,
  Relay,
  RelayCheckpoints,
  topicFor,
} from '../src';

const kind = harnessState().realKafka ? 'Kafka (kcat mock cluster)' : 'the in-process bus (no Kafka here)';

describe(`messaging on ${kind}`, () => {
  let pool: Pool;
  beforeAll(() => {
    pool = createPool(harnessState().databaseUrl);
  });
  afterAll(() => pool.end());

  async function partnerStore() {
    const schema = uniqueSchema('relay');
    const store = await PostgresEventStore.open({ pool, schema });
    const checkpoints = await RelayCheckpoints.open(pool, schema);
    return { store, checkpoints };
  }

  function collector() {
    const seen: Delivery[] = [];
    const handler = async (batch: Delivery[]) => {
      seen.push(...batch);
      return undefined;
    };
    return { seen, handler };
  }

  it('relays every event of a store to the bus as a CloudEvent, keyed by subject, in order per subject', async () => {
    const consortium = `c${randomUUID().slice(0, 8)}`;
    const bus = testBus(consortium);
    const { store, checkpoints } = await partnerStore();
    const { seen, handler } = collector();
    const sub = await bus.subscribe(
      { groupId: 'projection', topics: [topicFor(consortium, 'person')] },
      handler,
    );
    const relay = new Relay(store, bus, checkpoints, { name: 'fresh-start', consortiumId: consortium });
    relay.start();
    for (let i = 0; i < 30; i++)
      await store.append(`person-${i % 3}`, 'any', [newEvent(`NE-${i % 3}`, 'ContactRecorded', { i })]);
    relay.wake();
    await eventually(async () => (seen.length >= 30 ? true : undefined), '30 relayed events', 30000);
    await relay.stop();
    await sub.stop();
    await bus.close();

    const ce: CloudEvent = seen[0].event;
    expect(ce.specversion).toBe('1.0');
    expect(parseCloudEventType(ce.type)).toEqual({ eventType: 'ContactRecorded', schemaVersion: 1 });
    expect(ce.source).toBe(`/consortia/${consortium}/partners/fresh-start`);
    expect(seen.every((d) => d.key === d.event.subject)).toBe(true);
    for (const subject of ['NE-0', 'NE-1', 'NE-2']) {
      const mine = seen.filter((d) => d.key === subject).map((d) => (d.event.data as { i: number }).i);
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
      expect(new Set(mine.map((i) => i % 3))).toEqual(new Set([Number(subject.slice(3))]));
    }
    expect(new Set(seen.map((d) => d.event.id)).size).toBe(30);
  });

  it('a restarted relay neither loses nor floods: it goes on from its checkpoint', async () => {
    const consortium = `c${randomUUID().slice(0, 8)}`;
    const bus = testBus(consortium);
    const { store, checkpoints } = await partnerStore();
    const { seen, handler } = collector();
    const sub = await bus.subscribe(
      { groupId: 'projection', topics: [topicFor(consortium, 'person')] },
      handler,
    );

    for (let i = 0; i < 10; i++) await store.append('s', 'any', [newEvent('NE-1', 'ContactRecorded', { i })]);
    const first = new Relay(store, bus, checkpoints, { name: 'r', consortiumId: consortium });
    while ((await first.pumpOnce()) > 0);
    for (let i = 10; i < 15; i++)
      await store.append('s', 'any', [newEvent('NE-1', 'ContactRecorded', { i })]);
    const second = new Relay(store, bus, checkpoints, { name: 'r', consortiumId: consortium });
    while ((await second.pumpOnce()) > 0);

    expect(first.publishedCount).toBe(10);
    expect(second.publishedCount).toBe(5);
    await eventually(async () => (seen.length >= 15 ? true : undefined), '15 events', 30000);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.map((d) => (d.event.data as { i: number }).i)).toEqual(
      Array.from({ length: 15 }, (_, i) => i),
    );
    await sub.stop();
    await bus.close();
  });

  it('sends what cannot be handled to the dead-letter topic with the reason, and keeps going', async () => {
    const consortium = `c${randomUUID().slice(0, 8)}`;
    const bus = testBus(consortium);
    const topic = topicFor(consortium, 'person');
    const { store, checkpoints } = await partnerStore();
    const handled: string[] = [];
    const sub = await bus.subscribe({ groupId: 'projection', topics: [topic] }, async (batch) => {
      const rejected = batch.filter((d) => d.event.type.endsWith('.v9'));
      handled.push(...batch.filter((d) => !rejected.includes(d)).map((d) => d.event.subject));
      return rejected.map((delivery) => ({
        delivery,
        reason: 'schema version 9 is not known to this consumer',
      }));
    });
    const letters: DeadLetter[] = [];
    const dlt = await bus.subscribeDeadLetters(
      'dead-letter-reader',
      async (batch) => void letters.push(...batch),
    );

    await bus.publishRaw([
      { topic, key: 'NE-1', payload: 'not json at all' },
      { topic, key: 'NE-1', payload: JSON.stringify({ specversion: '1.0', id: 'x' }) },
    ]);
    const future = {
      ...(await relayed(store, checkpoints, bus, consortium)),
      type: 'scot.hls.ContactRecorded.v9',
    };
    await bus.publishRaw([{ topic, key: 'NE-1', payload: JSON.stringify(future) }]);
    await store.append('later', 'any', [newEvent('NE-after')]);
    const relay = new Relay(store, bus, checkpoints, { name: 'r', consortiumId: consortium });
    while ((await relay.pumpOnce()) > 0);

    await eventually(
      async () => (handled.includes('NE-after') ? true : undefined),
      'the consumer to keep going',
      30000,
    );
    const reasons = await eventually(
      async () => (letters.length >= 3 ? letters.map((l) => l.reason) : undefined),
      'three dead letters',
      30000,
    );
    expect(
      letters.every((l) => l.groupId === 'projection' && l.topic === topic && l.payload.length > 0),
    ).toBe(true);
    expect(reasons).toEqual(
      expect.arrayContaining([
        'the message is not valid JSON',
        expect.stringMatching(/^not a platform CloudEvent: attribute "source" is missing/),
        'schema version 9 is not known to this consumer',
      ]),
    );
    await sub.stop();
    await dlt.stop();
    await bus.close();
  });
});

/** Relays one event and returns its envelope, so a test can alter it into a message from the future. */
async function relayed(
  store: PostgresEventStore,
  checkpoints: RelayCheckpoints,
  bus: ReturnType<typeof testBus>,
  consortium: string,
): Promise<CloudEvent> {
  await store.append('first', 'any', [newEvent('NE-first')]);
  const captured: CloudEvent[] = [];
  const spy = {
    ...bus,
    publish: async (m: { event: CloudEvent }[]) => void captured.push(...m.map((x) => x.event)),
  };
  const relay = new Relay(store, spy as never, checkpoints, { name: 'capture', consortiumId: consortium });
  await relay.pumpOnce();
  return captured[0];
}
