import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { deadLetterTopic } from '@app/messaging';
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
 * shared), then A is stopped in the middle of the work (rebalanced again: B takes A's partitions, with whatever
 * A had taken but not yet committed). At the end the read models equal a clean rebuild from the partners'
 * stores, and every event was applied exactly once.
 */
(realKafka() ? describe : describe.skip)('two projection instances in one consumer group', () => {
  const databaseUrl = harnessState().databaseUrl;
  const projectionSchema = uniqueSchema('scale_proj');
  let kafka: OwnKafka;
  let c: RunningConsortium;
  let pool: Pool;
  let group: string;
  let a: ChildService;
  let b: ChildService;
  let writing = false;

  beforeAll(async () => {
    kafka = await OwnKafka.start();
    c = await startFaultConsortium((id) => kafka.bus(id, 'scale-partners'));
    pool = createPool(databaseUrl, 4);
    const id = c.consortium.id;
    // The instances run the same consortium file as the partners (its id names the topics).
    const consortiumFile = resolve(`test-artifacts/rebalance-${id}.json`);
    writeFileSync(consortiumFile, JSON.stringify(c.consortium));
    group = `${id}.scale-out`;
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
      PROJECTION_SCHEMA: projectionSchema,
      PROJECTION_GROUP: group,
      PORT: String(await freePort()),
      // The Kafka client's joins, rebalances and errors, for a failure's message.
      KAFKA_LOG: 'info',
    });
    a = new ChildService('projection-a', 'projection-service', await env());
    b = new ChildService('projection-b', 'projection-service', await env());
  }, 60000);

  afterAll(async () => {
    writing = false;
    await a?.kill();
    await b?.kill();
    await c?.stop();
    await pool?.end();
    kafka?.kill();
  }, 120000);

  const processed = async () =>
    Number(
      (
        await pool
          .query(`SELECT count(*)::int AS n FROM ${projectionSchema}.processed_events`)
          .catch(() => null)
      )?.rows[0].n ?? 0,
    );

  /**
   * How many partitions an instance holds now: the last assignment it logged for the group (every instance
   * says which partitions it holds after each rebalance). The mock cluster has no DescribeGroups to ask.
   */
  function held(instance: ChildService): number | null {
    const name = `${group}.g1`.replace(/[.]/g, '\\.');
    const said = [
      ...instance.output.matchAll(
        new RegExp(`consumer group ${name}: this instance holds (\\d+) partition`, 'g'),
      ),
    ];
    return said.length ? Number(said[said.length - 1][1]) : null;
  }

  /** What each instance last said of its partitions, for a failure's message. */
  const said = () => [a, b].map((x) => `${x.name}: …${x.output.slice(-3000)}`).join('\n');
  const until = <T>(probe: () => Promise<T | undefined>, what: string) =>
    eventually(probe, what, 90000).catch((e: Error) => {
      throw new Error(`${e.message}\n${said()}`);
    });

  it('A alone, B joins, A stops mid-work: every event applied once, the read models equal a clean rebuild', async () => {
    const started = Date.now();
    const marks: string[] = [];
    const mark = (what: string) => marks.push(`${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // Partners record without pause: people, consent, contacts, referrals answered across partners, learning.
    writing = true;
    let rounds = 0;
    const fsUrl = c.partners.get('fresh-start')!.url;
    const fsToken = await tokenFor(c, 'fresh-start', 'worker', 'dsw-scale');
    const [first] = await recordWork(c, 'start', 1);
    // A round whose referral is slow to cross (a loaded machine) is left half done: that is work too.
    let slowRounds = 0;
    const work = (async () => {
      while (writing) {
        await recordWork(c, `r${rounds++}`, 2).catch(() => slowRounds++);
        await sleep(200);
      }
    })();
    let contacts = 0;
    const visits = (async () => {
      while (writing) {
        const r = await api(fsUrl, 'POST', `/people/${first}/journey/contacts`, fsToken, {
          kind: 'visit',
          occurredAt: hourAgo(),
          durationMinutes: 15,
          notes: `Visit ${contacts}`,
        });
        if (r.status !== 201) throw new Error(`contact: ${r.status} ${JSON.stringify(r.body)}`);
        contacts++;
        await sleep(50);
      }
    })();

    await a.start(120000);
    mark('A up');
    await eventually(async () => ((await processed()) > 20 ? true : undefined), 'A to take events', 60000);
    await until(async () => (held(a) === 16 ? true : undefined), 'A to hold all 16 partitions');
    const byAAlone = await processed();

    await b.start(120000);
    mark('B up');
    // The group rebalanced: two members, each with some of the 16 learning partitions (4 topics of 4).
    const shared = await until(async () => {
      const m = [held(a) ?? 0, held(b) ?? 0];
      return m.every((n) => n > 0) && m[0] + m[1] === 16 ? m : undefined;
    }, 'the group to share the partitions between A and B');
    mark('shared');
    expect(shared.reduce((x, y) => x + y, 0)).toBe(16);
    const beforeStop = await processed();
    await eventually(
      async () => ((await processed()) > beforeStop + 20 ? true : undefined),
      'both to take events',
      60000,
    );

    // A stops while the partners go on recording: B takes its partitions.
    await a.stop();
    mark('A stopped');
    await until(async () => (held(b) === 16 ? true : undefined), 'B to hold all 16 partitions');
    mark('B alone');
    const afterStop = await processed();
    await eventually(
      async () => ((await processed()) > afterStop + 20 ? true : undefined),
      'B to go on taking events',
      60000,
    );
    writing = false;
    await Promise.all([work, visits]);
    mark('writers stopped');

    // Nothing lost: B reaches every event in the stores; nothing doubled: each applied once.
    const events = await storeEvents(pool, partnerSchemas(c));
    await eventually(
      async () => ((await processed()) === events.length ? true : undefined),
      `the projection to take all ${events.length} events`,
      60000,
    );
    mark('caught up');
    const q = async (sql: string) => (await pool.query(sql)).rows;
    const [journey] = await q(
      `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d FROM ${projectionSchema}.journey_entries`,
    );
    expect(journey.n).toBe(journey.d);
    const [{ n: contactEntries }] = await q(
      `SELECT count(*)::int AS n FROM ${projectionSchema}.journey_entries
        WHERE event_type = 'ContactRecorded' AND person_ref = '${first}'`,
    );
    expect(contactEntries).toBe(contacts + 1);
    const db = { query: q };
    expect(await checksumOf(db, projectionSchema)).toBe(
      await cleanBuildChecksum(databaseUrl, c.consortium.id, partnerSchemas(c)),
    );
    const reader = kafka.bus(c.consortium.id, 'scale-dead-letters');
    const dead = await reader.readDeadLetters().finally(() => reader.close());
    expect(dead.filter((l) => l.groupId.startsWith(group))).toEqual([]);
    expect(byAAlone).toBeGreaterThan(0);
    console.log(
      `rebalance: ${events.length} events (${rounds} rounds of work, ${slowRounds} left half done, ${contacts} visits) in ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s; ${marks.join(', ')}; dead-letter topic ${deadLetterTopic(c.consortium.id)}`,
    );
  }, 480000);
});
