import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createPool } from '@app/platform';
import { Pool } from 'pg';
import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import {
  checksumOf,
  cleanBuildChecksum,
  freePort,
  hourAgo,
  OwnKafka,
  partnerSchemas,
  realKafka,
  recordWork,
  signingKeys,
  sleep,
  startFaultConsortium,
  storeEvents,
} from '../faults/kit';
import { ChildService } from '../faults/services';
import { eventually, harnessState, uniqueSchema } from '../harness';
import { api, tokenFor } from '../harness/consortium';

/**
 * Horizontal scale: the projection service as two instances of one consumer group, on the kcat mock cluster.
 * Partners record all the while; instance A starts alone, B joins (the group rebalances and the partitions are
 * shared), then A leaves in the middle of the work and B takes its partitions, with whatever A had taken but
 * not yet committed. A leaves in two ways: a clean stop (SIGTERM, as a scale-down or rolling update does), and
 * a stall (SIGSTOP past its session: the group gives its partitions to B while A still holds a batch, which A
 * finishes when it wakes, after B took over). At the end the read models equal a clean rebuild from the
 * partners' stores, and every event was applied exactly once.
 */
(realKafka() ? describe : describe.skip)('two projection instances in one consumer group', () => {
  const databaseUrl = harnessState().databaseUrl;
  const LEARNING_PARTITIONS = 16; // 4 topics (one per scale) of 4 partitions
  let kafka: OwnKafka;
  let c: RunningConsortium;
  let pool: Pool;
  let consortiumFile: string;
  const running: ChildService[] = [];
  let writing = false;

  beforeAll(async () => {
    kafka = await OwnKafka.start();
    c = await startFaultConsortium((id) => kafka.bus(id, 'scale-partners'));
    pool = createPool(databaseUrl, 4);
    // The instances run the same consortium file as the partners (its id names the topics).
    consortiumFile = resolve(`test-artifacts/rebalance-${c.consortium.id}.json`);
    writeFileSync(consortiumFile, JSON.stringify(c.consortium));
  }, 60000);

  afterAll(async () => {
    writing = false;
    for (const s of running) await s.kill();
    await c?.stop();
    await pool?.end();
    kafka?.kill();
  }, 120000);

  /** Two instances of the projection service, sharing a group and read models of their own. */
  async function instances(tag: string) {
    const schema = uniqueSchema(`scale_${tag}`);
    const group = `${c.consortium.id}.scale-${tag}`;
    const env = async () => ({
      HLS_CONSORTIUM_FILE: consortiumFile,
      KAFKA_BROKERS_FILE: kafka.brokersFile,
      KEY_SERVICE_DATABASE_URL: databaseUrl,
      KEY_SERVICE_SCHEMA: c.schemaOf('key_service'),
      HLS_TOKEN_KEYS: JSON.stringify(signingKeys(c.consortium)),
      HLS_EVIDENCE_SIGNING_KEY: generateKeyPairSync('ed25519')
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
      HLS_PARTNER_URLS: JSON.stringify(Object.fromEntries([...c.partners].map(([p, s]) => [p, s.url]))),
      DATABASE_URL: databaseUrl,
      PROJECTION_SCHEMA: schema,
      PROJECTION_GROUP: group,
      PORT: String(await freePort()),
      // The Kafka client's joins, rebalances and errors, for a failure's message.
      KAFKA_LOG: 'info',
    });
    const a = new ChildService(`projection-a-${tag}`, 'projection-service', await env());
    const b = new ChildService(`projection-b-${tag}`, 'projection-service', await env());
    running.push(a, b);

    const processed = async () =>
      Number(
        (await pool.query(`SELECT count(*)::int AS n FROM ${schema}.processed_events`).catch(() => null))
          ?.rows[0].n ?? 0,
      );
    /**
     * How many partitions an instance holds now: the last assignment it logged for the group (each instance
     * says which partitions it holds after every rebalance). The mock cluster has no DescribeGroups to ask.
     */
    const name = `${group}.g1`.replace(/[.]/g, '\\.');
    const assignment = new RegExp(`consumer group ${name}: this instance holds (\\d+) partition`);
    const said = new Map([a, b].map((x) => [x, x.watch(assignment)]));
    const held = (instance: ChildService): number | null => {
      const last = said.get(instance)?.at(-1);
      return last ? Number(assignment.exec(last)?.[1]) : null;
    };
    const until = <T>(probe: () => Promise<T | undefined>, what: string) =>
      eventually(probe, what, 90000).catch((e: Error) => {
        const state = [a, b].map(
          (x) => `${x.name} said ${said.get(x)?.slice(-3).join(' | ')}\n  …${x.output.slice(-1500)}`,
        );
        throw new Error(`${e.message}\n${state.join('\n')}`);
      });
    /** Waits until the read models grow by more than a few events: the instances are taking work. */
    const moving = async (what: string) => {
      const from = await processed();
      await until(async () => ((await processed()) > from + 20 ? true : undefined), what);
    };
    /** How many assignments an instance has logged so far. */
    const joins = (instance: ChildService) => said.get(instance)?.length ?? 0;
    return { a, b, schema, group, processed, held, joins, until, moving };
  }

  /** Partners record without pause: people, consent, contacts, referrals answered across partners, learning. */
  async function startWriting(tag: string) {
    writing = true;
    const counts = { rounds: 0, halfDone: 0, contacts: 0 };
    const fsUrl = c.partners.get('fresh-start')!.url;
    const fsToken = await tokenFor(c, 'fresh-start', 'worker', `dsw-${tag}`);
    const [visited] = await recordWork(c, `${tag}-start`, 1);
    const work = (async () => {
      while (writing) {
        // A round whose referral is slow to cross (a loaded machine) is left half done: that is work too.
        await recordWork(c, `${tag}-${counts.rounds++}`, 2).catch(() => counts.halfDone++);
        await sleep(200);
      }
    })();
    const visits = (async () => {
      while (writing) {
        const r = await api(fsUrl, 'POST', `/people/${visited}/journey/contacts`, fsToken, {
          kind: 'visit',
          occurredAt: hourAgo(),
          durationMinutes: 15,
          notes: `Visit ${counts.contacts}`,
        });
        if (r.status !== 201) throw new Error(`contact: ${r.status} ${JSON.stringify(r.body)}`);
        counts.contacts++;
        await sleep(50);
      }
    })();
    return {
      visited,
      counts,
      async stop() {
        writing = false;
        await Promise.all([work, visits]);
      },
    };
  }

  /** Nothing lost (every event in the stores applied), nothing doubled, and equal to a clean rebuild. */
  async function expectWhole(
    p: Awaited<ReturnType<typeof instances>>,
    w: Awaited<ReturnType<typeof startWriting>>,
  ) {
    // The partners take in each other's referral moves for a moment after the writers stop: the stores settle
    // (no new event for 3 s) before they are compared with.
    let events = await storeEvents(pool, partnerSchemas(c));
    for (let still = 0; still < 3; ) {
      await sleep(1000);
      const now = await storeEvents(pool, partnerSchemas(c));
      still = now.length === events.length ? still + 1 : 0;
      events = now;
    }
    await p.until(
      async () => ((await p.processed()) === events.length ? true : undefined),
      `the projection to take all ${events.length} events`,
    );
    const q = async (sql: string) => (await pool.query(sql)).rows;
    const [journey] = await q(
      `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d FROM ${p.schema}.journey_entries`,
    );
    expect(journey.n).toBe(journey.d);
    const [{ n: visits }] = await q(
      `SELECT count(*)::int AS n FROM ${p.schema}.journey_entries
        WHERE event_type = 'ContactRecorded' AND person_ref = '${w.visited}'`,
    );
    expect(visits).toBe(w.counts.contacts + 1);
    expect(await checksumOf({ query: q }, p.schema)).toBe(
      await cleanBuildChecksum(databaseUrl, c.consortium.id, partnerSchemas(c)),
    );
    expect((await storeEvents(pool, partnerSchemas(c))).length).toBe(events.length);
    const reader = kafka.bus(c.consortium.id, `scale-dead-letters-${p.group}`);
    const dead = await reader.readDeadLetters().finally(() => reader.close());
    expect(dead.filter((l) => l.groupId.startsWith(p.group))).toEqual([]);
    return events.length;
  }

  const clock = () => {
    const started = Date.now();
    const marks: string[] = [];
    return {
      mark: (what: string) => marks.push(`${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`),
      report: () => `${((Date.now() - started) / 1000).toFixed(1)} s; ${marks.join(', ')}`,
    };
  };

  /** A alone, then B joins and the partitions are shared. */
  async function aThenB(p: Awaited<ReturnType<typeof instances>>, mark: (what: string) => void) {
    await p.a.start(120000);
    mark('A up');
    await p.moving('A to take events');
    await p.until(async () => (p.held(p.a) === LEARNING_PARTITIONS ? true : undefined), 'A to hold all');
    await p.b.start(120000);
    mark('B up');
    const shared = await p.until(async () => {
      const m = [p.held(p.a) ?? 0, p.held(p.b) ?? 0];
      return m.every((n) => n > 0) && m[0] + m[1] === LEARNING_PARTITIONS ? m : undefined;
    }, 'the group to share the partitions between A and B');
    mark(`shared ${shared.join('/')}`);
    await p.moving('both to take events');
  }

  it('A alone, B joins, A stops cleanly mid-work: every event applied once, equal to a clean rebuild', async () => {
    const t = clock();
    const w = await startWriting('stop');
    const p = await instances('stop');
    await aThenB(p, t.mark);

    await p.a.stop();
    t.mark('A stopped');
    await p.until(async () => (p.held(p.b) === LEARNING_PARTITIONS ? true : undefined), 'B to hold all');
    t.mark('B alone');
    await p.moving('B to go on taking events');
    await w.stop();
    t.mark('writers stopped');

    const events = await expectWhole(p, w);
    await p.b.stop();
    console.log(
      `rebalance (clean stop): ${events} events (${w.counts.rounds} rounds of work, ${w.counts.halfDone} ` +
        `left half done, ${w.counts.contacts} visits) in ${t.report()}`,
    );
  }, 480000);

  it('A stalls mid-work past its session (B takes over, or waits on a batch A holds open), A wakes and finishes its batch late: still once, still equal', async () => {
    const t = clock();
    const w = await startWriting('stall');
    const p = await instances('stall');
    await aThenB(p, t.mark);

    // A stops dead wherever it is (in a fetch, mid-batch, or holding a transaction open) and misses its
    // heartbeats: after the session timeout the group gives A's partitions to B.
    p.a.freeze();
    t.mark('A frozen');
    // If A froze holding a batch's transaction open, B's redelivery of that batch waits on A's rows (the unique
    // event ids) until A wakes: B cannot finish the batch, so it cannot take part in the rebalance either.
    const tookOver = await eventually(
      async () => (p.held(p.b) === LEARNING_PARTITIONS ? true : undefined),
      'B to hold all',
      45000,
    ).then(
      () => true,
      () => false,
    );
    t.mark(tookOver ? 'B alone' : 'B waiting on the batch A holds open');
    if (tookOver) await p.moving('B to go on taking events');
    // A wakes: whatever batch it held is finished now, after B took the partition; then A finds it was put
    // out of the group and joins again.
    const before = [p.joins(p.a), p.joins(p.b)];
    p.a.resume();
    t.mark('A woken');
    // Both take part in a new rebalance (A was put out of the group while it was frozen). Where B never
    // finished the rebalance (it waited on A's batch), the group may keep the assignment it had, and A, awake,
    // simply goes on with its half: shared as before, with no new assignment logged.
    const shared = () => {
      const m = [p.held(p.a) ?? 0, p.held(p.b) ?? 0];
      return m.every((n) => n > 0) && m[0] + m[1] === LEARNING_PARTITIONS;
    };
    const rejoined = await eventually(
      async () => (p.joins(p.a) > before[0] && p.joins(p.b) > before[1] && shared() ? true : undefined),
      'A to rejoin and the partitions to be shared again',
      tookOver ? 60000 : 30000,
    ).then(
      () => true,
      () => false,
    );
    if (!rejoined && (tookOver || !shared()))
      throw new Error('A did not rejoin, and the partitions are not shared between A and B');
    t.mark(rejoined ? 'shared again' : 'shared as before A froze (no new rebalance)');
    await p.moving('both to take events again');
    await w.stop();
    t.mark('writers stopped');

    const events = await expectWhole(p, w);
    console.log(
      `rebalance (stall): ${events} events (${w.counts.rounds} rounds of work, ${w.counts.halfDone} ` +
        `left half done, ${w.counts.contacts} visits) in ${t.report()}`,
    );
  }, 480000);
});
