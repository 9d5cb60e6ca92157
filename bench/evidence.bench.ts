import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Consortium, loadConsortium } from '@app/consortium';
import { checkpointOf, LOG_START, PostgresEventStore, RecordedEvent } from '@app/event-store';
import { Delivery, toCloudEvent } from '@app/messaging';
import { Actor, createPool, systemClock } from '@app/platform';
import { PostgresKeyStore } from '@app/privacy';
import { Pool } from 'pg';
import { EvidencePacks } from '../apps/projection-service/src/evidence/evidence-packs';
import { HttpPartnerLogs } from '../apps/projection-service/src/evidence/partner-logs';
import { EvidenceSigner, generateSigningKey } from '../apps/projection-service/src/evidence/signing';
import { placeFigures } from '../apps/projection-service/src/place/place-figures';
import { openReadModels } from '../apps/projection-service/src/projection-service';
import { project } from '../apps/projection-service/src/shared/projector';
import { generatePlace } from './place-generator';
import { Figure, fmt, median, progress } from './report';

/**
 * Issue 4's figures on a generated place: the steward's place view for a year and composing an evidence pack,
 * each from the read models (median of runs), and the full rebuild of the evidence read models from the
 * beginning of the partners' logs through the projector, beside merely reading the same events in the same run.
 * The rebuild drives the projector directly (batches of 1,000 from each partner's log in turn, split by key into four partitions applied side by side, as the consumer takes them), so the figure is
 * the read models' own cost, without the broker's.
 */
const BATCH = Number(process.env.BENCH_EVIDENCE_BATCH ?? 1000);

export async function evidenceFigures(o: {
  databaseUrl: string;
  consortium: Consortium;
  schemaPrefix: string;
  /** Where the read models are built; default `<prefix>projection` (apart from any live projection's). */
  projectionSchema?: string;
  runs: number;
}): Promise<Figure[]> {
  const pool = createPool(o.databaseUrl, 4);
  const stores = await Promise.all(
    o.consortium.partners.map(async (p) => ({
      partner: p.id,
      store: await PostgresEventStore.open({
        pool,
        schema: `${o.schemaPrefix}partner_${p.id}`.replaceAll('-', '_'),
      }),
    })),
  );
  const schema = o.projectionSchema ?? `${o.schemaPrefix}projection`;
  const dataSource = await openReadModels(o.databaseUrl, schema);
  try {
    // Every partner's log from the start, a batch from each in turn; the plain read walks the logs exactly so.
    const readAll = async (each: (batch: RecordedEvent[]) => Promise<void>) => {
      const at = new Map(stores.map((s) => [s.partner, LOG_START]));
      let n = 0;
      for (let more = true; more; ) {
        more = false;
        for (const { partner, store } of stores) {
          const batch = await store.readLog(at.get(partner) ?? LOG_START, BATCH);
          if (!batch.length) continue;
          more = true;
          n += batch.length;
          const last = batch[batch.length - 1];
          at.set(partner, checkpointOf(last));
          await each(batch);
        }
      }
      return n;
    };
    // As the broker would hand them over: by the event's key (a person, a cycle) into partitions, and the
    // partitions' batches applied side by side (the consumer takes four partitions at once).
    const LANES = 4;
    const laneOf = (key: string) => {
      let h = 0;
      for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
      return Math.abs(h) % LANES;
    };
    let t = performance.now();
    const events = await readAll(async () => undefined);
    const readRate = events / ((performance.now() - t) / 1000);
    progress(`evidence: plain read of ${fmt(events)} events at ${fmt(readRate)}/s`);
    t = performance.now();
    let done = 0;
    await readAll(async (batch) => {
      const deliveries: Delivery[] = batch.map((e) => ({
        topic: 'rebuild',
        partition: 0,
        offset: String(e.position),
        key: e.metadata.subject,
        event: toCloudEvent(o.consortium.id, e),
      }));
      const lanes = Array.from({ length: LANES }, () => [] as Delivery[]);
      for (const d of deliveries) lanes[laneOf(d.key)].push(d);
      const applied = lanes.filter((l) => l.length).map((l) => project(dataSource, l));
      const rejected = (await Promise.all(applied)).flat();
      if (rejected.length)
        throw new Error(`the projector rejected ${rejected.length}: ${rejected[0].reason}`);
      done += batch.length;
      if (done % 100_000 < BATCH) progress(`evidence: rebuilt ${fmt(done)} of ${fmt(events)}`);
    });
    const rebuildRate = events / ((performance.now() - t) / 1000);
    progress(`evidence: rebuild at ${fmt(rebuildRate)}/s`);

    const [{ last }] = await dataSource.query(`SELECT max(day)::text AS last FROM ${schema}.place_activity`);
    const to = last as string;
    const from = new Date(Date.parse(`${to}T00:00:00Z`) - 364 * 86400_000).toISOString().slice(0, 10);
    const placeTimes: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const s = performance.now();
      await placeFigures(dataSource, schema, o.consortium, { from, to });
      placeTimes.push((performance.now() - s) / 1000);
    }
    progress(
      `evidence: place view for ${from} to ${to}: ${placeTimes.map((x) => x.toFixed(2)).join(', ')} s`,
    );

    const keyPool = createPool(o.databaseUrl, 2);
    const keys = await PostgresKeyStore.open({ pool: keyPool, schema: `${o.schemaPrefix}key_service` });
    const evidenceStore = await PostgresEventStore.open({ pool, schema: `${schema}_evidence` });
    const runtime = { consortium: o.consortium, dataSource, keys, clock: systemClock };
    const packs = new EvidencePacks(
      runtime,
      evidenceStore,
      new EvidenceSigner(generateSigningKey()),
      new HttpPartnerLogs({}, async () => ''),
    );
    const steward = (partner: string): Actor => ({
      userId: `${partner}-steward`,
      name: 'Steward',
      organisation: partner,
      role: 'steward',
    });
    const composeTimes: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const s = performance.now();
      const { packId } = await packs.compose(steward(o.consortium.partners[0].id), {
        body: o.consortium.statutoryBodies[i % o.consortium.statutoryBodies.length].id,
        period: { from, to },
        caseStudies: [],
      });
      composeTimes.push((performance.now() - s) / 1000);
      // Published, so the next pack's disclosure control works against it too.
      for (const p of o.consortium.partners.slice(1)) await packs.approve(steward(p.id), packId);
      await packs.publish(steward(o.consortium.partners[0].id), packId);
    }
    progress(`evidence: compose: ${composeTimes.map((x) => x.toFixed(2)).join(', ')} s`);
    await evidenceStore.close();
    await keyPool.end();

    const note = `${fmt(events)} events`;
    return [
      {
        id: 'evidence',
        figure: `steward's place view for a year (${from} to ${to}), from the read models`,
        value: median(placeTimes),
        unit: 's',
        goal: '< 2 s',
        met: median(placeTimes) < 2,
        runs: { value: placeTimes },
        note,
      },
      {
        id: 'evidence',
        figure: 'compose an evidence pack for a year (disclosure control against the packs before it)',
        value: median(composeTimes),
        unit: 's',
        goal: '< 2 s',
        met: median(composeTimes) < 2,
        runs: { value: composeTimes },
        note,
      },
      {
        id: 'evidence',
        figure: 'rebuild of the evidence read models from the beginning, through the projector',
        value: rebuildRate,
        unit: 'events/s',
        comparedWith: { what: 'plain read of the same events, same batches', value: readRate },
        ratio: rebuildRate / readRate,
        goal: 'ratio >= 0.4',
        met: rebuildRate / readRate >= 0.4,
        note,
      },
    ];
  } finally {
    await dataSource.destroy();
    for (const s of stores) await s.store.close();
    await pool.end();
  }
}

/** On its own: `npx ts-node --swc -r tsconfig-paths/register bench/evidence.bench.ts [events]`. */
async function main() {
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const consortium = loadConsortium();
  // BENCH_EVIDENCE_PLACE names the schema prefix of a place generated before (kept with BENCH_KEEP=1).
  const reuse = process.env.BENCH_EVIDENCE_PLACE;
  const schemaPrefix = reuse ?? `bench_ev_${randomBytes(3).toString('hex')}_`;
  const pool: Pool = createPool(databaseUrl, 6);
  const events = Number(process.argv[2] ?? 1_000_000);
  if (reuse)
    await pool.query(`DROP SCHEMA IF EXISTS ${reuse}projection, ${reuse}projection_evidence CASCADE`);
  else {
    progress(`evidence: generating ${fmt(events)} events (prefix ${schemaPrefix})`);
    await generatePlace({ pool, consortium, schemaPrefix, events, seed: 1 });
  }
  try {
    const figures = await evidenceFigures({ databaseUrl, consortium, schemaPrefix, runs: 5 });
    for (const f of figures)
      console.log(
        `${f.figure}: ${fmt(f.value)} ${f.unit}${f.comparedWith ? ` vs ${fmt(f.comparedWith.value)} (ratio ${f.ratio?.toFixed(2)})` : ''} goal ${f.goal} ${f.met ? 'met' : 'MISSED'}`,
      );
  } finally {
    if (!process.env.BENCH_KEEP) {
      const { rows } = await pool.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, [
        `${schemaPrefix}%`,
      ]);
      for (const r of rows) await pool.query(`DROP SCHEMA ${r.nspname} CASCADE`);
    }
    await pool.end();
  }
}

if (require.main === module)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
