import { randomUUID } from 'node:crypto';
import { NewEvent, PostgresEventStore } from '@app/event-store';
import { STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { Pool, types } from 'pg';
import { newEvent } from '../libs/event-store/test/event-store.contract';
import { compared, Figure, interleaved, progress } from './report';
import { Settings } from './settings';

const WRITERS = 16;
const BATCH = 100;

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

/** pg's type parsers for int8, jsonb and json as they are now, to put back with `use`. */
function parsers(): { use(): undefined } {
  const oids = [types.builtins.INT8, types.builtins.JSONB, types.builtins.JSON];
  const now = oids.map((oid) => types.getTypeParser(oid));
  return {
    use() {
      for (const [i, oid] of oids.entries()) types.setTypeParser(oid, now[i] as (v: string) => unknown);
      return undefined;
    },
  };
}

/** An event of the size the platform records (a contact with sealed notes), for every side alike. */
function contact(subject: string): NewEvent {
  return newEvent(subject, 'ContactRecorded', {
    personRef: subject,
    contactId: randomUUID(),
    kind: 'visit',
    occurredAt: '2026-11-20T09:30:00.000Z',
    durationMinutes: 45,
    notes: {
      sealed: 'aes-256-gcm',
      kid: `${subject}/contact-notes/2026`,
      iv: 'q0V2mW1c7kQ1yH3e',
      tag: 'yq0dYb1w7N8o3sUeVZl5Rw==',
      ct: 'Zm9yIHRoZSBiZW5jaG1hcmssIGEgc2VhbGVkIG5vdGUgb2YgYWJvdXQgYSBodW5kcmVkIGJ5dGVzIG9mIHRleHQ=',
    },
  });
}

/**
 * The event store's appends beside what they are measured against, on the same database, runs interleaved:
 * one event per transaction at 16 writers (each append a new stream) against a plain single-row INSERT of the
 * same columns; batches of 100 events to a new stream against a plain multi-row INSERT of 100 rows; and both
 * workloads against Emmett's PostgreSQL event store (its own tables, in a schema of its own).
 */
export async function appendFigures(s: Settings): Promise<Figure[]> {
  const wanted = ['append', 'append-batch', 'emmett'].filter((id) => s.wants(id));
  if (wanted.length === 0) return [];
  const pool = new Pool({ connectionString: s.databaseUrl, max: WRITERS + 2 });
  const schema = `bench_${randomUUID().slice(0, 8)}`;
  const emmettSchema = `${schema}_emmett`;
  // Emmett names its tables without a schema: its own connections find them through the search path.
  const emmettUrl = new URL(s.databaseUrl);
  emmettUrl.searchParams.set('options', `-c search_path=${emmettSchema}`);
  const emmettPool = new Pool({ connectionString: emmettUrl.toString(), max: WRITERS + 2 });
  // Emmett's driver (dumbo) sets pg's type parsers for the whole process (int8 as BigInt, its own JSON): each
  // side runs with its own, as it would in a process of its own.
  const ourParsers = parsers();
  const emmett = getPostgreSQLEventStore(emmettUrl.toString(), {
    schema: { autoMigration: 'CreateOrUpdate' },
    connectionOptions: { pool: emmettPool },
  });
  const figures: Figure[] = [];
  try {
    const store = await PostgresEventStore.open({ pool, schema });
    await pool.query(`CREATE TABLE ${schema}.plain (
      id bigserial PRIMARY KEY, stream_id text NOT NULL, event_id uuid NOT NULL, event_type text NOT NULL,
      data jsonb NOT NULL, metadata jsonb NOT NULL)`);
    await pool.query(`CREATE SCHEMA ${emmettSchema}`);
    await emmett.schema.migrate();
    const theirParsers = parsers();
    ourParsers.use();
    const perRun = s.scaled(6000, 1000);
    const batchesPerRun = s.scaled(300, 40);

    const ours = (run: number | string, n: number) =>
      ourParsers.use() ??
      rate(n, WRITERS, async (w, i) => {
        await store.append(`one-${run}-${w}-${i}`, 'no_stream', [contact(`NE-${w}`)]);
      });
    const plain = (run: number | string, n: number) =>
      ourParsers.use() ??
      rate(n, WRITERS, async (w, i) => {
        const e = contact(`NE-${w}`);
        await pool.query(
          `INSERT INTO ${schema}.plain (stream_id, event_id, event_type, data, metadata) VALUES ($1, $2, $3, $4, $5)`,
          [`one-${run}-${w}-${i}`, e.id, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)],
        );
      });
    const theirs = (run: number | string, n: number, size: number) =>
      theirParsers.use() ??
      rate(n, WRITERS, async (w, i) => {
        const events = Array.from({ length: size }, () => contact(`NE-${w}`));
        await emmett.appendToStream(
          `${size}-${run}-${w}-${i}`,
          events.map((e) => ({
            type: e.type,
            data: e.data as Record<string, unknown>,
            metadata: { ...e.metadata },
          })),
          { expectedStreamVersion: STREAM_DOES_NOT_EXIST },
        );
      }).then((r) => r * size);
    const ourBatches = (run: number | string, n: number) =>
      ourParsers.use() ??
      rate(n, WRITERS, async (w, i) => {
        const events = Array.from({ length: BATCH }, () => contact(`NE-${w}`));
        await store.append(`batch-${run}-${w}-${i}`, 'no_stream', events);
      }).then((r) => r * BATCH);
    const plainBatches = (run: number | string, n: number) =>
      ourParsers.use() ??
      rate(n, WRITERS, async (w, i) => {
        const events = Array.from({ length: BATCH }, () => contact(`NE-${w}`));
        const stream = `batch-${run}-${w}-${i}`;
        await pool.query(
          `INSERT INTO ${schema}.plain (stream_id, event_id, event_type, data, metadata) VALUES ${events
            .map((_, k) => `($${k * 5 + 1}, $${k * 5 + 2}, $${k * 5 + 3}, $${k * 5 + 4}, $${k * 5 + 5})`)
            .join(', ')}`,
          events.flatMap((e) => [stream, e.id, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)]),
        );
      }).then((r) => r * BATCH);

    // Warm every side up first (connections made, statements prepared, caches filled): not counted.
    progress('append: warming up');
    await ours('warm', 1000);
    await plain('warm', 1000);
    await theirs('warm', 1000, 1);
    await ourBatches('warm', 32);
    await plainBatches('warm', 32);
    await theirs('warm-b', 32, BATCH);

    const one = `1 event per transaction, ${WRITERS} writers`;
    const many = `batches of ${BATCH}, ${WRITERS} writers`;
    const emmettBaseline = 'Emmett 0.42 PostgreSQL';
    const comparisons = [
      {
        id: 'append',
        what: one,
        baseline: 'plain single-row INSERT',
        atLeast: 0.8,
        a: ours,
        b: plain,
        size: perRun,
      },
      {
        id: 'append-batch',
        what: many,
        baseline: `plain multi-row INSERT of ${BATCH}`,
        atLeast: 0.8,
        a: ourBatches,
        b: plainBatches,
        size: batchesPerRun,
      },
      {
        id: 'emmett',
        what: one,
        baseline: emmettBaseline,
        atLeast: 1,
        a: ours,
        b: (run: string, n: number) => theirs(run, n, 1),
        size: perRun,
      },
      {
        id: 'emmett',
        what: many,
        baseline: emmettBaseline,
        atLeast: 1,
        a: ourBatches,
        b: (run: string, n: number) => theirs(run, n, BATCH),
        size: batchesPerRun,
      },
    ];
    for (const [k, c] of comparisons.entries()) {
      if (!s.wants(c.id)) continue;
      const figure = `event-store append${c.id === 'emmett' ? ' vs Emmett' : ''}, ${c.what}`;
      const runs = await interleaved(
        figure,
        s.runs,
        (run) => c.a(`${k}-${run}`, c.size),
        (run) => c.b(`${k}-${run}`, c.size),
      );
      figures.push(
        compared({ id: c.id, figure, unit: 'events/s', baseline: c.baseline, atLeast: c.atLeast }, runs),
      );
    }
    return figures;
  } finally {
    ourParsers.use();
    await emmett.close().catch(() => undefined);
    await emmettPool.end().catch(() => undefined);
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await pool.query(`DROP SCHEMA IF EXISTS ${emmettSchema} CASCADE`).catch(() => undefined);
    await pool.end();
  }
}
