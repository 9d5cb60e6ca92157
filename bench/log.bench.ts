import { checkpointOf, LOG_START, PostgresEventStore, RecordedEvent } from '@app/event-store';
import { Delivery, KafkaBus, Relay, RelayCheckpoints, toCloudEvent, topicFor } from '@app/messaging';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { openReadModels } from '../apps/projection-service/src/projection-service';
import { GenerationBuilder } from '../apps/projection-service/src/rebuild/blue-green';
import { project } from '../apps/projection-service/src/shared/projector';
import { compared, Figure, fmt, interleaved, median, progress } from './report';
import { Settings } from './settings';

/** How a subscriber reads (the relay's batch): the store's log and its plain baseline alike. */
const PAGE = 500;

/** The partner stores of a generated place, with the number of events each holds. */
export interface PlaceStores {
  pool: Pool;
  stores: { partner: string; schema: string; store: PostgresEventStore; events: number }[];
}

/** Reads up to `limit` events of every store's log, store after store, as a subscriber catching up does. */
async function readLogs(place: PlaceStores, limit: number): Promise<number> {
  let read = 0;
  const started = performance.now();
  for (const { store } of place.stores) {
    let at = LOG_START;
    while (read < limit) {
      const batch = await store.readLog(at, PAGE);
      if (batch.length === 0) break;
      read += batch.length;
      at = checkpointOf(batch[batch.length - 1]);
    }
  }
  return read / ((performance.now() - started) / 1000);
}

/** The same rows, in order, by a plain keyset-paged SELECT of the same columns. */
async function plainReads(place: PlaceStores, limit: number): Promise<number> {
  let read = 0;
  const started = performance.now();
  for (const { schema } of place.stores) {
    let after = 0;
    while (read < limit) {
      const { rows } = await place.pool.query(
        `SELECT position, transaction_id, stream_id, version, event_id, event_type, schema_version, data, metadata,
                recorded_at, hash
           FROM ${schema}.events WHERE position > $1 ORDER BY position LIMIT $2`,
        [after, PAGE],
      );
      if (rows.length === 0) break;
      read += rows.length;
      after = rows[rows.length - 1].position;
    }
  }
  return read / ((performance.now() - started) / 1000);
}

export interface LogReadResult {
  figures: Figure[];
  /** The plain read's rate (events/s), the baseline of the projection rebuild too. */
  plainRead: number;
}

/** Catch-up: the store's commit-safe log read against a plain SELECT of the same rows in position order. */
export async function logReadFigures(s: Settings, place: PlaceStores): Promise<LogReadResult> {
  const limit = Math.min(
    s.scaled(400_000, 5_000),
    place.stores.reduce((n, x) => n + x.events, 0),
  );
  progress(`log read: ${limit.toLocaleString('en-GB')} events a run, pages of ${PAGE}`);
  await readLogs(place, Math.min(limit, 20_000)); // warm both the cache and the statements
  await plainReads(place, Math.min(limit, 20_000));
  const runs = await interleaved(
    'global-log read',
    s.runs,
    () => readLogs(place, limit),
    () => plainReads(place, limit),
  );
  const figure = compared(
    {
      id: 'log-read',
      figure: `global-log read (subscriber catch-up), pages of ${PAGE}`,
      unit: 'events/s',
      baseline: 'plain SELECT in position order',
      atLeast: 0.7,
    },
    runs,
  );
  return { figures: s.wants('log-read') ? [figure] : [], plainRead: figure.comparedWith?.value ?? 0 };
}

/**
 * The relay publishing a store's log to Kafka (read in commit order, CloudEvents, acks from every in-sync
 * replica, checkpoint saved after each batch) against kafkajs sending the same messages, already built, in
 * batches of the same size with the same acks.
 */
export async function relayFigures(
  s: Settings,
  place: PlaceStores,
  brokers: () => string[],
): Promise<Figure[]> {
  const source = place.stores[0];
  const limit = Math.min(s.scaled(150_000, 5_000), source.events);
  const consortiumId = `relay-bench-${Date.now().toString(36)}`;
  progress(`relay: ${limit.toLocaleString('en-GB')} events of ${source.partner} a run`);
  // The baseline's messages: the same events, as the relay would send them.
  const events: RecordedEvent[] = [];
  for (let at = LOG_START; events.length < limit; ) {
    const batch = await source.store.readLog(at, PAGE);
    if (batch.length === 0) break;
    events.push(...batch.slice(0, limit - events.length));
    at = checkpointOf(batch[batch.length - 1]);
  }
  const batches: { topic: string; messages: { key: string; value: string }[] }[][] = [];
  for (let i = 0; i < events.length; i += PAGE) {
    const byTopic = new Map<string, { key: string; value: string }[]>();
    for (const e of events.slice(i, i + PAGE)) {
      const topic = topicFor(consortiumId, e.metadata.scale);
      const list = byTopic.get(topic) ?? [];
      list.push({ key: e.metadata.subject, value: JSON.stringify(toCloudEvent(consortiumId, e)) });
      byTopic.set(topic, list);
    }
    batches.push([...byTopic].map(([topic, messages]) => ({ topic, messages })));
  }
  events.length = 0;

  const bus = new KafkaBus({ clientId: 'bench-relay', consortiumId, brokers });
  const kafka = new Kafka({
    clientId: 'bench-direct',
    brokers: async () => brokers(),
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const checkpoints = await RelayCheckpoints.open(place.pool, source.schema);
  const relayRun = async (name: string, upTo: number) => {
    const relay = new Relay(source.store, bus, checkpoints, { name, consortiumId });
    const started = performance.now();
    let sent = 0;
    while (sent < upTo) {
      const n = await relay.pumpOnce();
      if (n === 0) break;
      sent += n;
    }
    return sent / ((performance.now() - started) / 1000);
  };
  const directRun = async (upTo: number) => {
    const started = performance.now();
    let sent = 0;
    for (const topicMessages of batches) {
      if (sent >= upTo) break;
      await producer.sendBatch({ topicMessages, acks: -1 });
      for (const t of topicMessages) sent += t.messages.length;
    }
    return sent / ((performance.now() - started) / 1000);
  };
  try {
    await bus.ensureTopics([...new Set(batches.flat().map((b) => b.topic))]);
    await relayRun(`bench-warm-${consortiumId}`, Math.min(limit, 10_000));
    await directRun(Math.min(limit, 10_000));
    const runs = await interleaved(
      'relay',
      s.runs,
      (run) => relayRun(`bench-${run}-${consortiumId}`, limit),
      () => directRun(limit),
    );
    return [
      compared(
        {
          id: 'relay',
          figure: `relay: event store to Kafka, batches of ${PAGE}`,
          unit: 'events/s',
          baseline: 'kafkajs sendBatch of the same messages',
          atLeast: 0.7,
        },
        runs,
      ),
    ];
  } finally {
    await producer.disconnect().catch(() => undefined);
    await bus.close();
    await place.pool
      .query(`DELETE FROM ${source.schema}.relay_checkpoints WHERE relay LIKE 'bench-%'`)
      .catch(() => undefined);
  }
}

/**
 * A projection rebuild from the beginning, as `hls-consortium rebuild` builds the new generation: the projector
 * (the same function the projection service's consumer calls) applying every store's log from its first event as
 * CloudEvents exactly as they come off Kafka, into a fresh schema whose tables are without their secondary indexes
 * (and, for the tables written once per event, their primary keys) during the load, in batches of 5,000 with the
 * next page read meanwhile and commits that do not wait for the disk; the time includes what the load leaves to
 * its end: the place's activity summed from the journey entries, the keys, the indexes and the statistics. Kafka itself is left out: the kcat mock cluster
 * keeps only the newest ~5 MB of each partition, so a place cannot be replayed from it from the beginning (and
 * the rebuild reads the partners' stores, the record). The projector into live-shaped tables in batches of
 * the relay's size (the rebuild before the blue-green one) is measured beside it.
 */
export async function rebuildFigures(
  s: Settings,
  place: PlaceStores,
  databaseUrl: string,
  schemaPrefix: string,
  plainRead: number,
): Promise<Figure[]> {
  const limit = Math.min(
    s.scaled(40_000, 2_000),
    place.stores.reduce((n, x) => n + x.events, 0),
  );
  const rates: number[] = [];
  const plainRates: number[] = [];
  let rejected = 0;
  for (let run = 1; run <= s.runs; run++) {
    const builder = await GenerationBuilder.create(
      {
        databaseUrl,
        consortiumId: 'rebuild',
        sources: place.stores.map((x) => ({ partner: x.partner, store: x.store })),
      },
      `${schemaPrefix}rebuild_bg${run}`,
    );
    try {
      const started = performance.now();
      await builder.prepareForLoad();
      await builder.catchUp('load', limit);
      await builder.finishLoad();
      rates.push(builder.applied / ((performance.now() - started) / 1000));
      rejected += builder.rejected.length;
      progress(
        `rebuild: run ${run}/${s.runs}: ${fmt(rates[run - 1])} events/s over ${fmt(builder.applied)} events`,
      );
    } finally {
      await builder.close();
      await place.pool.query(`DROP SCHEMA ${builder.schema} CASCADE`);
    }
    plainRates.push(
      await projectorIntoLiveTables(place, databaseUrl, `${schemaPrefix}rebuild_r${run}`, limit),
    );
    progress(
      `rebuild: run ${run}/${s.runs}: batches of ${PAGE} into logged tables ${fmt(plainRates[run - 1])} events/s`,
    );
  }
  const value = median(rates);
  return [
    {
      id: 'rebuild',
      figure: `projection rebuild from the beginning, blue-green build (projector over the first ${fmt(limit)} events, batches of 5,000, indexed after)`,
      value,
      unit: 'events/s',
      comparedWith: { what: 'plain SELECT in position order', value: plainRead },
      ratio: value / plainRead,
      goal: 'ratio >= 0.4',
      met: value / plainRead >= 0.4,
      runs: { value: rates },
      note:
        `the projector in batches of ${PAGE} into logged, indexed tables: ${fmt(median(plainRates))} events/s ` +
        `(ratio ${(median(plainRates) / plainRead).toFixed(2)})` +
        (rejected ? `; ${rejected} events rejected by the projector (dead letters)` : ''),
    },
  ];
}

/** The projector in batches of the relay's size into a set of read models shaped as the live ones are. */
async function projectorIntoLiveTables(
  place: PlaceStores,
  databaseUrl: string,
  schema: string,
  limit: number,
): Promise<number> {
  const dataSource = await openReadModels(databaseUrl, schema);
  try {
    let applied = 0;
    const started = performance.now();
    for (const { store } of place.stores) {
      for (let at = LOG_START; applied < limit; ) {
        const batch = await store.readLog(at, PAGE);
        if (batch.length === 0) break;
        const deliveries: Delivery[] = batch.map((e, i) => ({
          topic: topicFor('rebuild', e.metadata.scale),
          partition: 0,
          offset: String(applied + i),
          key: e.metadata.subject,
          event: toCloudEvent('rebuild', e),
        }));
        await project(dataSource, deliveries);
        applied += batch.length;
        at = checkpointOf(batch[batch.length - 1]);
      }
    }
    return applied / ((performance.now() - started) / 1000);
  } finally {
    await dataSource.destroy();
    await place.pool.query(`DROP SCHEMA ${schema} CASCADE`);
  }
}
