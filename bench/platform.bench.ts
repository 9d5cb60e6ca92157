import { readFileSync } from 'node:fs';
import { allTopics, deadLetterTopic, KafkaBus } from '@app/messaging';
import { Pool } from 'pg';
import { appendToViewLatency } from './latency.bench';
import type { PlaceCounts } from './place-generator';
import { queryFigures } from './queries.bench';
import { Figure, fmt, progress } from './report';
import {
  Deployment,
  partnerSchema,
  ServiceProcess,
  sleep,
  startPartnerProcess,
  startProjectionProcess,
} from './services';
import { Settings } from './settings';

/** The running consortium over a generated place: what the latency and query figures load. */
export interface RunningPlace {
  deployment: Deployment;
  pool: Pool;
  partners: Map<string, ServiceProcess>;
  projection: ServiceProcess;
  projectionSchema: string;
  /** People registered at each partner: whom its workers record work with and read. */
  peopleAt: Map<string, string[]>;
}

interface Sample {
  at: number;
  rss: number;
  /** Events written to the stores, and applied by the projection, when the sample was taken. */
  written: number;
  applied: number;
}

/**
 * The services, each in its own process, while a place of `events` events is written into their stores: the
 * partner services relay it to Kafka as it is written and the projection service applies it live, and the
 * generator is held back whenever the projection falls more than LAG events behind (the kcat mock cluster
 * keeps only the newest ~5 MB of each partition, so a consumer further behind would lose events). The
 * resident size of every service is sampled all along. Then the latency and query figures load the running
 * services over the whole place.
 */
export async function platformFigures(
  s: Settings,
  d: Deployment,
  pool: Pool,
  generate: (pace: (written: number) => Promise<void>) => Promise<PlaceCounts>,
): Promise<{ figures: Figure[]; place: PlaceCounts }> {
  const figures: Figure[] = [];
  const partners = new Map<string, ServiceProcess>();
  let projection: ServiceProcess | null = null;
  const samples = new Map<string, Sample[]>();
  let written = 0;
  let applied = 0;
  const projectionSchema = `${d.schemaPrefix}projection`;
  const countApplied = async () => {
    const { rows } = await pool
      .query(`SELECT coalesce(sum(events), 0) AS n FROM ${projectionSchema}.source_positions`)
      .catch(() => ({ rows: [{ n: 0 }] }));
    applied = Number(rows[0].n);
    return applied;
  };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const p of [...partners.values(), ...(projection ? [projection] : [])]) {
        const list = samples.get(p.name) ?? [];
        list.push({ at: Date.now(), rss: p.rss(), written, applied });
        samples.set(p.name, list);
      }
      await sleep(1000);
    }
  })();
  try {
    // The topics first: on the kcat mock cluster a relay's first batches to a topic that does not exist yet
    // could be lost to the same trimming; the figures here are not about that.
    const admin = new KafkaBus({
      clientId: 'bench-topics',
      consortiumId: d.consortium.id,
      brokers: () => readFileSync(d.brokersFile, 'utf8').trim().split(','),
    });
    await admin.ensureTopics([...allTopics(d.consortium.id), deadLetterTopic(d.consortium.id)]);
    await admin.close();
    progress(
      `services: starting ${d.consortium.partners.length} partner services and the projection, each in its own process`,
    );
    for (const p of d.consortium.partners) partners.set(p.id, await startPartnerProcess(d, p.id));
    projection = await startProjectionProcess(d, projectionSchema, `${d.consortium.id}.projection`, partners);
    const place = await generate(async (n) => {
      written = n;
      while (n - (await countApplied()) > LAG) await sleep(100);
    });
    await until('projection: applying the place', place.events, countApplied);
    if (s.wants('memory')) figures.push(...memoryFigures(samples, place.events));
    const running: RunningPlace = {
      deployment: d,
      pool,
      partners,
      projection,
      projectionSchema,
      peopleAt: await peopleAt(d, pool),
    };
    if (s.wants('latency')) figures.push(...(await appendToViewLatency(s, running)));
    if (s.wants('queries')) figures.push(...(await queryFigures(s, running)));
    return { figures, place };
  } finally {
    sampling = false;
    await sampler;
    await projection?.stop();
    await Promise.all([...partners.values()].map((p) => p.stop()));
  }
}

/** How far the projection may fall behind the generator, in events (well within what the mock keeps). */
const LAG = 6000;

/**
 * Polls `count` until it reaches `goal`, showing progress; returns the rate (per second) over the first
 * `measure` counted, from the first one seen. Gives up when nothing moves for two minutes.
 */
async function until(
  label: string,
  goal: number,
  count: () => Promise<number>,
  measure = goal,
): Promise<number> {
  let first: { at: number; n: number } | null = null;
  let measured = 0;
  let lastShown = 0;
  let lastMove = { at: performance.now(), n: -1 };
  for (;;) {
    const n = await count();
    const now = performance.now();
    if (n > 0 && !first) first = { at: now, n };
    if (first && !measured && n >= measure) measured = (n - first.n) / ((now - first.at) / 1000);
    if (n >= goal) return measured || n / ((now - (first?.at ?? now)) / 1000 || 1);
    if (n !== lastMove.n) lastMove = { at: now, n };
    else if (now - lastMove.at > 120_000) {
      progress(`${label}: stuck at ${fmt(n)} of ${fmt(goal)} for two minutes; going on`);
      return first ? (n - first.n) / ((now - first.at) / 1000) : 0;
    }
    if (now - lastShown > 10_000) {
      lastShown = now;
      progress(`${label}: ${fmt(n)} of ${fmt(goal)}`);
    }
    await sleep(250);
  }
}

/**
 * Flat memory: each service's resident size when half the place had gone through it, and at the end (the
 * place written, relayed and wholly projected). The partners' work is the place being written and relayed;
 * the projection's, applying it.
 */
function memoryFigures(samples: Map<string, Sample[]>, events: number): Figure[] {
  return [...samples].map(([name, list]) => {
    const through = (x: Sample) => (name === 'projection' ? x.applied : x.written);
    const half = list.find((x) => through(x) >= events / 2) ?? list[Math.floor(list.length / 2)];
    const end = list[list.length - 1];
    const mb = (b: number) => b / 1024 / 1024;
    const ratio = end.rss / half.rss;
    return {
      id: 'memory',
      figure: `memory: ${name} service, resident after ${fmt(events)} events`,
      value: mb(end.rss),
      unit: 'MB',
      comparedWith: { what: 'at half the events', value: mb(half.rss) },
      ratio,
      goal: 'growth < 10% (ratio < 1.10)',
      met: ratio < 1.1,
      note: `${name}: peak ${fmt(mb(Math.max(...list.map((x) => x.rss))))} MB over ${list.length} samples, one a second`,
    };
  });
}

/** The most recently registered people at each partner (their streams are known there). */
async function peopleAt(d: Deployment, pool: Pool): Promise<Map<string, string[]>> {
  const people = new Map<string, string[]>();
  for (const p of d.consortium.partners) {
    const { rows } = await pool.query(
      `SELECT data->>'personRef' AS ref FROM ${partnerSchema(d, p.id)}.events
        WHERE event_type = 'PersonRegistered' ORDER BY position DESC LIMIT 2000`,
    );
    people.set(
      p.id,
      rows.map((r) => r.ref),
    );
  }
  return people;
}
