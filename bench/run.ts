import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { loadConsortium } from '@app/consortium';
import { PostgresEventStore } from '@app/event-store';
import { createPool } from '@app/platform';
import { startMockKafka } from '../test/harness/global-setup';
import { appendFigures } from './event-store.bench';
import { evidenceFigures } from './evidence.bench';
import { logReadFigures, PlaceStores, rebuildFigures, relayFigures } from './log.bench';
import { generatePlace, PlaceCounts } from './place-generator';
import { platformFigures } from './platform.bench';
import { portalFigures } from './portal.bench';
import { Figure, fmt, printTable, progress, saveResults } from './report';
import { deployment } from './services';
import { FIGURE_IDS, Settings } from './settings';

/**
 * `npm run bench`: every figure of issue 6 on real PostgreSQL (DATABASE_URL, default 127.0.0.1:5432/test) and a
 * kcat mock Kafka cluster started here, each beside its comparison measured in the same process. Prints the
 * table and writes it to bench/results/<time>.json. BENCH_SCALE and BENCH_ONLY (see settings.ts) make a
 * quick run; BENCH_KEEP=1 keeps the generated place's schemas.
 */
async function main() {
  const s = new Settings();
  const started = Date.now();
  const load = [os.loadavg()[0]];
  progress(
    `settings: scale ${s.scale}, ${s.runs} runs a figure, figures ${[...s.only].join(', ')}; ` +
      `load average ${load[0].toFixed(2)} on ${os.cpus().length} cores`,
  );
  const figures: Figure[] = [];
  let place: PlaceCounts | null = null;
  figures.push(...(await appendFigures(s)));
  if (s.wants('portal')) figures.push(...(await portalFigures(s)));
  if (s.wants('log-read', 'relay', 'rebuild', 'memory', 'latency', 'queries', 'evidence')) {
    const kafka = await startMockKafka();
    progress(`Kafka: kcat mock cluster at ${kafka.bootstrap}`);
    const brokers = () => readFileSync(kafka.brokersFile, 'utf8').trim().split(',');
    const pool = createPool(s.databaseUrl, 8);
    const d = deployment(loadConsortium(), {
      databaseUrl: s.databaseUrl,
      brokersFile: kafka.brokersFile,
      schemaPrefix: `bench_${randomBytes(3).toString('hex')}_`,
    });
    try {
      progress(
        `place: generating ${fmt(s.placeEvents)} events over ${d.consortium.partners.length} partners`,
      );
      let shown = 0;
      const generate = (pace?: (written: number) => Promise<void>) =>
        generatePlace({
          pool,
          consortium: d.consortium,
          schemaPrefix: d.schemaPrefix,
          events: s.placeEvents,
          seed: s.seed,
          matchingSecret: Buffer.from(d.matchingSecret, 'base64url'),
          onProgress: (written, total) => {
            if (written - shown >= total / 20) {
              shown = written;
              progress(`place: ${fmt(written)} of ${fmt(total)} events written`);
            }
            return pace?.(written);
          },
        });
      const paced = s.wants('memory', 'latency', 'queries');
      if (paced) {
        const platform = await platformFigures(s, d, pool, generate);
        figures.push(...platform.figures);
        place = platform.place;
      } else place = await generate();
      progress(
        `place: ${fmt(place.events)} events, ${fmt(place.people)} people, in ${place.seconds.toFixed(1)} s ` +
          `(${fmt(place.eventsPerSecond)} events/s${paced ? ', paced by the live projection' : ''})`,
      );
      const stores: PlaceStores = { pool, stores: [] };
      for (const [partner, schema] of Object.entries(place.schemas.partners))
        stores.stores.push({
          partner,
          schema,
          store: await PostgresEventStore.open({ pool, schema }),
          events: place.byPartner[partner] ?? 0,
        });
      let plainRead = 0;
      if (s.wants('log-read', 'rebuild')) {
        const read = await logReadFigures(s, stores);
        figures.push(...read.figures);
        plainRead = read.plainRead;
      }
      if (s.wants('relay')) figures.push(...(await relayFigures(s, stores, brokers)));
      if (s.wants('rebuild'))
        figures.push(...(await rebuildFigures(s, stores, s.databaseUrl, d.schemaPrefix, plainRead)));
      if (s.wants('evidence'))
        figures.push(
          ...(await evidenceFigures({
            databaseUrl: s.databaseUrl,
            consortium: d.consortium,
            schemaPrefix: d.schemaPrefix,
            projectionSchema: `${d.schemaPrefix}evidence_projection`,
            runs: s.runs,
          })),
        );
    } finally {
      process.kill(kafka.pid, 'SIGKILL');
      rmSync(kafka.brokersFile, { force: true });
      rmSync(d.consortiumFile, { force: true });
      if (process.env.BENCH_KEEP !== '1') await dropSchemas(pool, d.schemaPrefix);
      await pool.end();
    }
  }
  load.push(os.loadavg()[0]);
  const order = (f: Figure) => FIGURE_IDS.indexOf(f.id as (typeof FIGURE_IDS)[number]);
  figures.sort((a, b) => order(a) - order(b));
  printTable(figures);
  const file = saveResults(figures, {
    cpus: os.cpus().length,
    node: process.version,
    kafka: 'kcat mock cluster (librdkafka), 3 brokers',
    scale: s.scale,
    runs: s.runs,
    only: [...s.only],
    minutes: (Date.now() - started) / 60_000,
    loadAverage: { atStart: load[0], atEnd: load[1] },
    place: place && { ...place, byType: undefined },
  });
  process.stdout.write(`\nwritten to ${file}\n`);
  process.exit(0);
}

async function dropSchemas(pool: ReturnType<typeof createPool>, prefix: string): Promise<void> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)`,
    [prefix],
  );
  for (const { name } of rows) await pool.query(`DROP SCHEMA ${name} CASCADE`).catch(() => undefined);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
