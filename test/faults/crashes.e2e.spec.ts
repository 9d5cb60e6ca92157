import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { loadConsortium } from '@app/consortium';
import { PostgresEventStore } from '@app/event-store';
import { createPool, TokenKeys } from '@app/platform';
import { Pool } from 'pg';
import { eventually, harnessState, uniqueSchema } from '../harness';
import { api, tokenFor } from '../harness/consortium';
import {
  checksumOf,
  cleanBuildChecksum,
  freePort,
  hourAgo,
  OwnKafka,
  realKafka,
  signer,
  signingKeys,
  sleep,
} from './kit';
import { ChildService } from './services';

const ROUNDS = 3;

/**
 * A partner service is killed (SIGKILL) in the middle of appends, and the projection service in the middle of
 * a batch, again and again at random moments, while workers keep recording. After each restart nothing that
 * was acknowledged is missing, nothing is half-applied, and the read models equal a clean rebuild.
 */
(realKafka() ? describe : describe.skip)('crashes', () => {
  const consortium = loadConsortium();
  const databaseUrl = harnessState().databaseUrl;
  const partnerSchema = uniqueSchema('crash_fs');
  const projectionSchema = uniqueSchema('crash_proj');
  const keys = signingKeys(consortium);
  const tokens = signer(new TokenKeys(keys));
  let kafka: OwnKafka;
  let partner: ChildService;
  let projection: ChildService;
  let pool: Pool;

  beforeAll(async () => {
    kafka = await OwnKafka.start();
    pool = createPool(databaseUrl, 4);
    const common = {
      KEY_SERVICE_DATABASE_URL: databaseUrl,
      KEY_SERVICE_SCHEMA: uniqueSchema('crash_keys'),
      KAFKA_BROKERS_FILE: kafka.brokersFile,
      HLS_TOKEN_KEYS: JSON.stringify(keys),
      HLS_MATCHING_SECRET: randomBytes(32).toString('base64url'),
    };
    const partnerPort = await freePort();
    partner = new ChildService('fresh-start', 'partner-service', {
      ...common,
      PARTNER_ID: 'fresh-start',
      DATABASE_URL: databaseUrl,
      PARTNER_SCHEMA: partnerSchema,
      PORT: String(partnerPort),
    });
    // Only fresh-start runs here; the others' addresses answer nothing (evidence is not exercised).
    const partnerUrls = Object.fromEntries(
      consortium.partners.map((p) => [p.id, `http://127.0.0.1:${p.id === 'fresh-start' ? partnerPort : 9}`]),
    );
    projection = new ChildService('projection', 'projection-service', {
      ...common,
      HLS_EVIDENCE_SIGNING_KEY: generateKeyPairSync('ed25519')
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
      HLS_PARTNER_URLS: JSON.stringify(partnerUrls),
      DATABASE_URL: databaseUrl,
      PROJECTION_SCHEMA: projectionSchema,
      PORT: String(await freePort()),
    });
    await Promise.all([partner.start(), projection.start()]);
  }, 60000);
  afterAll(async () => {
    await partner?.kill();
    await projection?.kill();
    await pool?.end();
    kafka?.kill();
  });

  const count = async (sql: string) => (await pool.query(sql)).rows[0].n as number;

  it(`${2 * ROUNDS} kills at random moments, of the partner mid-append and of the projection mid-batch: nothing acknowledged is lost, nothing is half-applied`, async () => {
    const token = await tokenFor(tokens, 'fresh-start', 'worker', 'dsw-crash');
    const refs: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await api(partner.url, 'POST', '/people', token, {
        name: `Crash ${i}`,
        dateOfBirth: '1975-04-04',
        whatMatters: 'w',
      });
      expect(r.status).toBe(201);
      refs.push(r.body.personRef as string);
    }

    // Workers record without pause; an answer that never came (the service died) is simply not acknowledged.
    const acknowledged: string[] = [];
    let writing = true;
    const writers = refs.map(async (ref, w) => {
      for (let n = 0; writing; n++) {
        const r = await api(partner.url, 'POST', `/people/${ref}/journey/contacts`, token, {
          kind: 'visit',
          occurredAt: hourAgo(),
          durationMinutes: 10,
          notes: `Writer ${w}, visit ${n}`,
        }).catch(() => null);
        if (r?.status === 201) acknowledged.push(r.body.id as string);
        else {
          expect(r === null || r.status === 503).toBe(true);
          await sleep(100);
        }
        await sleep(25); // a steady rate, so that restarts are not starved of the machine's two cores
      }
    });

    // Each round kills both, each at its own random moment, and they restart side by side (a restarted
    // consumer waits out its dead predecessor's Kafka session, so restarts one after the other would be slow).
    const crash = async (victim: ChildService) => {
      await sleep(200 + Math.random() * 1000);
      await victim.kill();
      await victim.start();
    };
    for (let round = 0; round < ROUNDS; round++) await Promise.all([crash(partner), crash(projection)]);
    await sleep(500);
    writing = false;
    await Promise.all(writers);
    expect(acknowledged.length).toBeGreaterThan(50);

    // The store: every acknowledged record exactly once, every stream without gaps, every hash intact.
    const store = await PostgresEventStore.open({ pool, schema: partnerSchema });
    const { rows } = await pool.query(
      `SELECT stream_id, version, data::text AS data, position FROM ${partnerSchema}.events ORDER BY stream_id, version`,
    );
    const missing = acknowledged.filter((id) => rows.filter((r) => r.data.includes(id)).length !== 1);
    expect(missing).toEqual([]);
    const byStream = new Map<string, number[]>();
    for (const r of rows) byStream.set(r.stream_id, [...(byStream.get(r.stream_id) ?? []), r.version]);
    for (const [stream, versions] of byStream)
      expect({ stream, versions }).toEqual({ stream, versions: versions.map((_, i) => i) });
    const verified = await store.verifyRange(0, Math.max(...rows.map((r) => Number(r.position))));
    expect({ events: verified.events, altered: verified.altered }).toEqual({
      events: rows.length,
      altered: [],
    });

    // The projection, restarted, takes everything, once: its read models equal a clean rebuild.
    await eventually(
      async () =>
        (await count(`SELECT count(*)::int AS n FROM ${projectionSchema}.processed_events`)) === rows.length
          ? true
          : undefined,
      `the projection to take all ${rows.length} events`,
      30000,
    );
    const db = { query: async (sql: string) => (await pool.query(sql)).rows };
    expect(await checksumOf(db, projectionSchema)).toBe(
      await cleanBuildChecksum(databaseUrl, consortium.id, [partnerSchema]),
    );
    expect(
      await count(
        `SELECT count(*)::int AS n FROM ${projectionSchema}.journey_entries WHERE event_type = 'ContactRecorded'`,
      ),
    ).toBeGreaterThanOrEqual(acknowledged.length);
    expect([partner.starts, projection.starts]).toEqual([ROUNDS + 1, ROUNDS + 1]);
  }, 150000);
});
