import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '@app/event-store';
import { Pool } from 'pg';
import { newEvent } from '../libs/event-store/test/event-store.contract';
import { Figure, median, progress } from './report';

const WRITERS = 16;

/** Runs `op` from `writers` concurrent loops until `total` operations are done; returns operations per second. */
async function rate(
  total: number,
  writers: number,
  op: (writer: number, i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = next++; i < total; i = next++) await op(w, i);
    }),
  );
  return total / (Number(process.hrtime.bigint() - started) / 1e9);
}

/**
 * The event store's single-event append at 16 concurrent writers on distinct streams, beside a plain
 * single-row INSERT of the same columns at the same concurrency, on the same database, runs interleaved.
 */
export async function appendThroughput(databaseUrl: string, runs = 5, perRun = 6000): Promise<Figure[]> {
  const pool = new Pool({ connectionString: databaseUrl, max: WRITERS + 2 });
  const schema = `bench_${randomUUID().slice(0, 8)}`;
  try {
    const store = await PostgresEventStore.open({ pool, schema });
    await pool.query(`CREATE TABLE ${schema}.plain (
      id bigserial PRIMARY KEY, stream_id text NOT NULL, event_id uuid NOT NULL, event_type text NOT NULL,
      data jsonb NOT NULL, metadata jsonb NOT NULL)`);
    const storeRates: number[] = [];
    const plainRates: number[] = [];
    const storeRun = (run: number | string, n: number) =>
      rate(n, WRITERS, async (w, i) => {
        await store.append(`bench-${run}-${w}-${i}`, 'no_stream', [newEvent(`NE-${w}`)]);
      });
    const plainRun = (run: number | string, n: number) =>
      rate(n, WRITERS, async (w, i) => {
        const e = newEvent(`NE-${w}`);
        await pool.query(
          `INSERT INTO ${schema}.plain (stream_id, event_id, event_type, data, metadata) VALUES ($1, $2, $3, $4, $5)`,
          [`bench-${run}-${w}-${i}`, e.id, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)],
        );
      });
    // Warm both up first: connections made, statements prepared, caches filled; these runs are not counted.
    progress('append: warming up');
    await storeRun('warm', 2000);
    await plainRun('warm', 2000);
    for (let run = 1; run <= runs; run++) {
      progress(`append run ${run}/${runs}: event store`);
      storeRates.push(await storeRun(run, perRun));
      progress(`append run ${run}/${runs}: plain INSERT`);
      plainRates.push(await plainRun(run, perRun));
    }
    const value = median(storeRates);
    const plain = median(plainRates);
    return [
      {
        figure: 'event-store append, 1 event per transaction, 16 writers',
        value,
        unit: 'events/s',
        comparedWith: { what: 'plain single-row INSERT', value: plain },
        ratio: value / plain,
        goal: 'ratio >= 0.6',
        met: value / plain >= 0.6,
      },
    ];
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await pool.end();
  }
}
