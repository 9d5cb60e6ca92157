import { PostgresEventStore } from '@app/event-store';
import { listDeadLetters } from '@app/messaging';
import { createPool } from '@app/platform';
import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { rebuildProjection } from '../../apps/projection-service/src/rebuild/blue-green';
import { cleanBuildChecksum, partnerSchemas, recordWork, sleep } from '../faults/kit';
import { eventually, harnessState, testBus } from '../harness';
import { api, readModelChecksum, settled, startTestConsortium, tokenFor } from '../harness/consortium';
import { cli, operatorEnv } from './kit';

/**
 * `hls-consortium rebuild`: the new generation is built beside the live one while the projection service keeps
 * serving and projecting; queries see complete data throughout; the switch is atomic and loses nothing that
 * arrived during the build.
 */
describe('hls-consortium rebuild (blue-green)', () => {
  let c: RunningConsortium;
  let env: NodeJS.ProcessEnv;
  let refs: string[];
  let worker: string;
  const schema = () => c.schemaOf('projection');
  const oidOf = async (table: string) =>
    (await c.projection.dataSource.query(`SELECT to_regclass($1)::oid::int AS oid`, [table]))[0].oid as
      | number
      | null;
  /** What Spartans' worker sees of a person Fresh Start referred (consented to share with Spartans). */
  const journeyLength = async (ref: string) => {
    const r = await api(c.projection.url, 'GET', `/people/${ref}/journey?purpose=support`, worker);
    if (r.status !== 200) throw new Error(`journey answered ${r.status}: ${JSON.stringify(r.body)}`);
    return (r.body.entries as unknown[]).length;
  };

  /** Settled and staying so: a referral's other side is recorded a moment after the answer that caused it. */
  const quiet = async () => {
    for (let last = -1; ; ) {
      const n = await settled(c);
      if (n === last) return;
      last = n;
      await sleep(500);
    }
  };

  beforeAll(async () => {
    c = await startTestConsortium('real');
    env = operatorEnv(c);
    refs = await recordWork(c, 'before', 4);
    await quiet();
    worker = await tokenFor(c, 'spartans', 'worker', 'sp-reader');
  }, 120_000);
  afterAll(() => c?.stop());

  it('--help says what it does', async () => {
    const r = await cli(['rebuild', '--help'], env);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/blue-green/i);
    expect(r.out).toContain('--batch-size');
  });

  it('builds beside the live view, which answers in full throughout; then switches at once, losing nothing recorded meanwhile', async () => {
    await quiet();
    const before = await readModelChecksum(c);
    const full = await journeyLength(refs[0]);
    expect(full).toBeGreaterThan(2);
    const [{ reads }] = await c.projection.dataSource.query(
      `SELECT count(*)::int AS reads FROM ${schema()}.journey_reads`,
    );
    expect(reads).toBeGreaterThan(0); // the journey reads above are audited, and must survive the rebuild
    const liveTable = await oidOf(`${schema()}.processed_events`);

    // Small batches, so that the build takes long enough to be watched.
    const run = cli(['rebuild', '--batch-size', '2'], env);
    let done = false;
    run.finally(() => {
      done = true;
    });
    let sawNext = false;
    let samples = 0;
    let duringWork: Promise<string[]> | null = null;
    while (!done) {
      const [{ present }] = await c.projection.dataSource.query(
        `SELECT to_regclass($1) IS NOT NULL AS present`,
        [`${schema()}_next.processed_events`],
      );
      if (present && !done) {
        sawNext = true;
        // The live view is whole while the next one fills: never a half-built answer.
        expect(await journeyLength(refs[0])).toBeGreaterThanOrEqual(full);
        samples++;
        if (samples === 1) {
          expect(await readModelChecksum(c)).toBe(before);
          // Work goes on during the build: the live projector takes it, and the new generation must too.
          duringWork = recordWork(c, 'during', 1);
        }
      }
      await sleep(20);
    }
    const r = await run;
    expect(r).toMatchObject({ code: 0 });
    const during = (await duringWork) ?? [];
    expect(sawNext).toBe(true);
    expect(samples).toBeGreaterThan(1);
    expect(during).toHaveLength(1);
    expect(r.out).toMatch(/rebuilt .*events\/s.*paused for \d+ ms/);

    // The live tables are new ones, the build schema is gone, and so is the old generation.
    expect(await oidOf(`${schema()}.processed_events`)).not.toBe(liveTable);
    expect(await oidOf(`${schema()}_next.processed_events`)).toBeNull();
    expect(await oidOf(`${schema()}_retired.processed_events`)).toBeNull();
    // The audit of journey reads moved across whole.
    const [{ after }] = await c.projection.dataSource.query(
      `SELECT count(*)::int AS after FROM ${schema()}.journey_reads`,
    );
    expect(after).toBeGreaterThanOrEqual(reads);

    // The live service serves the new generation and goes on projecting into it.
    await recordWork(c, 'after', 1);
    await quiet();
    expect(await journeyLength(during[0])).toBeGreaterThan(2);
    expect(await readModelChecksum(c)).toBe(
      await cleanBuildChecksum(c.databaseUrl, c.consortium.id, partnerSchemas(c)),
    );
  }, 180_000);

  it('a live batch that arrives during the switch waits for it, then lands in the new generation', async () => {
    await quiet();
    const pool = createPool(c.databaseUrl, 4);
    const since = new Date();
    try {
      const sources = [];
      for (const id of c.partners.keys())
        sources.push({
          partner: id,
          store: await PostgresEventStore.open({ pool, schema: c.schemaOf(`partner_${id}`) }),
        });
      const fs = c.partners.get('fresh-start')!.url;
      const token = await tokenFor(c, 'fresh-start', 'worker', 'fs-switch');
      let waiters = 0;
      const result = await rebuildProjection({
        databaseUrl: c.databaseUrl,
        schema: schema(),
        consortiumId: c.consortium.id,
        sources,
        onProgress: async (p) => {
          if (p.phase !== 'switch' || waiters) return;
          // The live projector is paused now: what is recorded reaches it, and it must wait for the switch.
          const contact = await api(fs, 'POST', `/people/${refs[3]}/journey/contacts`, token, {
            kind: 'visit',
            occurredAt: new Date().toISOString(),
            durationMinutes: 5,
          });
          expect(contact.status).toBe(201);
          waiters = await eventually(async () => {
            const [{ n }] = (
              await pool.query(
                'SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = to_regclass($1)',
                [`${schema()}.processed_events`],
              )
            ).rows;
            return n > 0 ? n : undefined;
          }, 'the live projector to wait for the switch');
        },
      });
      expect(waiters).toBeGreaterThan(0);
      expect(result.rejected).toEqual([]);
      await quiet();
      expect(await readModelChecksum(c)).toBe(
        await cleanBuildChecksum(c.databaseUrl, c.consortium.id, partnerSchemas(c)),
      );
      // The batch that waited was taken by the new generation without a fault: nothing dead-lettered since.
      if (harnessState().realKafka) {
        const bus = testBus(c.consortium.id, 'rebuild-test');
        try {
          expect(await listDeadLetters(bus, { since })).toEqual([]);
        } finally {
          await bus.close();
        }
      }
    } finally {
      await pool.end();
    }
  }, 120_000);

  it('refuses to run twice at once, and says why', async () => {
    const [first, second] = await Promise.all([
      cli(['rebuild', '--batch-size', '50'], env),
      sleep(150).then(() => cli(['rebuild'], env)),
    ]);
    expect(first.code).toBe(0);
    expect(second.code).toBe(2);
    expect(second.err).toContain('already running');
  }, 120_000);
});
