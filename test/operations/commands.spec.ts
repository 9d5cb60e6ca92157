import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { PostgresEventStore } from '@app/event-store';
import { allTopics, Delivery, MessageBus, topicFor } from '@app/messaging';
import { createPool, SchemaTooNewError } from '@app/platform';
import { Pool } from 'pg';
import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { openReadModels } from '../../apps/projection-service/src/projection-service';
import { PROJECTION_MIGRATIONS } from '../../apps/projection-service/src/shared/read-models';
import { recordWork } from '../faults/kit';
import { eventually, harnessState, testBus, uniqueSchema } from '../harness';
import { api, readModelChecksum, settled, startTestConsortium, tokenFor } from '../harness/consortium';
import { cli, operatorEnv } from './kit';

/** Each command of `hls-consortium` run as an operator would, against a consortium on PostgreSQL and Kafka. */
describe('hls-consortium commands', () => {
  let c: RunningConsortium;
  let env: NodeJS.ProcessEnv;
  let pool: Pool;
  let refs: string[];
  let bus: MessageBus;

  beforeAll(async () => {
    c = await startTestConsortium('real');
    env = operatorEnv(c);
    pool = createPool(c.databaseUrl, 3);
    bus = testBus(c.consortium.id, 'ops-test');
    refs = await recordWork(c, 'ops', 3);
    await settled(c);
  }, 120_000);
  afterAll(async () => {
    await bus?.close();
    await c?.stop();
    await pool?.end();
  });

  it('every command and subcommand has --help', async () => {
    for (const argv of [
      [],
      ['rebuild'],
      ['dead-letters'],
      ['dead-letters', 'list'],
      ['dead-letters', 'replay'],
      ['erase'],
      ['verify-pack'],
      ['republish'],
      ['export'],
      ['import'],
      ['migrate'],
    ]) {
      const r = await cli([...argv, '--help'], env);
      expect({ argv, code: r.code }).toEqual({ argv, code: 0 });
      expect(r.out).toContain(`Usage: hls-consortium ${argv.join(' ')}`.trim());
    }
    const wrong = await cli(['rebild'], env);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain("unknown command 'rebild'");
  });

  it('runs as the bin entry `hls-consortium` (what npx runs)', () => {
    const bin = JSON.parse(readFileSync('package.json', 'utf8')).bin['hls-consortium'];
    const run = spawnSync(process.execPath, [bin, 'migrate', '--help'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: hls-consortium migrate');
    const version = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8', timeout: 60_000 });
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  }, 120_000);

  describe('migrate', () => {
    it('--status shows every schema at this version; a schema from a newer version stops services and the tool alike', async () => {
      const status = await cli(['migrate', '--status', '--json'], env);
      expect(status.code).toBe(0);
      const rows = JSON.parse(status.out) as { schema: string; component: string; state: string }[];
      expect(rows.map((r) => r.component)).toEqual(
        expect.arrayContaining(['event-store', 'relay', 'key-service', 'projection', 'portal']),
      );
      expect(rows.filter((r) => r.component === 'event-store')).toHaveLength(
        c.consortium.partners.length + 1,
      );
      expect(rows.every((r) => r.state === 'up to date')).toBe(true);

      const projection = c.schemaOf('projection');
      const newer = PROJECTION_MIGRATIONS.length + 1;
      await pool.query(
        `INSERT INTO ${projection}.schema_migrations (component, version) VALUES ('projection', $1)`,
        [newer],
      );
      try {
        const after = await cli(['migrate', '--status'], env);
        expect(after.code).toBe(1);
        expect(after.out).toMatch(
          new RegExp(`${projection}\\s+projection\\s+${newer}\\s+${newer - 1}\\s+newer than this code`),
        );
        expect(after.err).toContain('will not start against it');
        const apply = await cli(['migrate'], env);
        expect(apply.code).toBe(2);
        expect(apply.err).toContain('migrated by a newer version of the platform');
        // The projection service of this version refuses to start against it, saying why.
        await expect(openReadModels(c.databaseUrl, projection)).rejects.toThrow(SchemaTooNewError);
      } finally {
        await pool.query(
          `DELETE FROM ${projection}.schema_migrations WHERE component = 'projection' AND version = $1`,
          [newer],
        );
      }
    });

    it('makes every schema of a new server, and --status then finds nothing to do', async () => {
      const prefix = `${uniqueSchema('m')}_`;
      const fresh = { ...env, HLS_SCHEMA_PREFIX: prefix };
      try {
        const before = JSON.parse((await cli(['migrate', '--status', '--json'], fresh)).out) as {
          state: string;
        }[];
        expect(before.every((r) => r.state === 'behind')).toBe(true);
        const r = await cli(['migrate'], fresh);
        expect(r.code).toBe(0);
        expect(r.out).toContain('every schema is at this version');
        const after = JSON.parse((await cli(['migrate', '--status', '--json'], fresh)).out) as {
          state: string;
        }[];
        expect(after.length).toBe(before.length);
        expect(after.every((s) => s.state === 'up to date')).toBe(true);
      } finally {
        const { rows } = await pool.query(`SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, [
          prefix,
        ]);
        for (const { nspname } of rows) await pool.query(`DROP SCHEMA ${nspname} CASCADE`);
      }
    });
  });

  describe('dead-letters', () => {
    it('lists what the projection could not take, with the reason, and replays what matches', async () => {
      if (!harnessState().realKafka) return; // the tool works on Kafka only; the harness fails CI without it
      const tag = randomUUID();
      await bus.publishRaw([
        { topic: topicFor(c.consortium.id, 'person'), key: tag, payload: JSON.stringify({ poison: tag }) },
      ]);
      const listed = await eventually(
        async () => {
          const r = await cli(['dead-letters', 'list', '--json'], env);
          const letters = JSON.parse(r.out) as { payload: string; reason: string; groupId: string }[];
          const mine = letters.filter((l) => l.payload.includes(tag));
          return mine.length ? { r, mine } : undefined;
        },
        'the poison to be dead-lettered',
        30_000,
      );
      expect(listed.mine[0].reason).toMatch(/not|CloudEvent/i);
      const text = await cli(['dead-letters', 'list', '--topic', topicFor(c.consortium.id, 'person')], env);
      expect(text.code).toBe(0);
      expect(text.out).toMatch(/\d+ dead letters?$/);

      const unfiltered = await cli(['dead-letters', 'replay'], env);
      expect(unfiltered.code).toBe(2);
      expect(unfiltered.err).toContain('--all');

      const replay = await cli(
        ['dead-letters', 'replay', '--reason', listed.mine[0].reason, '--group', listed.mine[0].groupId],
        env,
      );
      expect(replay.code).toBe(0);
      expect(replay.out).toMatch(/replayed [1-9]\d* message/);
      // Still poison: it comes back to the dead letters, once more.
      await eventually(
        async () => {
          const r = await cli(['dead-letters', 'list', '--json'], env);
          const n = (JSON.parse(r.out) as { payload: string }[]).filter((l) =>
            l.payload.includes(tag),
          ).length;
          return n >= 2 * listed.mine.length ? n : undefined;
        },
        'the replayed poison to be dead-lettered again',
        30_000,
      );
    }, 90_000);

    it('says plainly that it needs Kafka', async () => {
      const { KAFKA_BROKERS_FILE, ...noKafka } = env;
      const r = await cli(['dead-letters', 'list'], noKafka);
      expect(r.code).toBe(2);
      expect(r.err).toContain('KAFKA_BROKERS is not set');
    });
  });

  describe('erase', () => {
    const admin = () => tokenFor(c, `${c.consortium.id}-admin`, 'consortium-admin', 'dpo');
    const journeyOf = async (ref: string) =>
      api(c.projection.url, 'GET', `/people/${ref}/journey`, await tokenFor(c, 'fresh-start', 'worker'));

    it("erases through the partner that holds the person, with an administrator's token", async () => {
      const r = await cli(['erase', refs[1], '--ground', 'person-request', '--token', await admin()], env);
      expect(r).toMatchObject({ code: 0 });
      expect(r.out).toContain(`${refs[1]} erased through fresh-start`);
      await eventually(
        async () => ((await journeyOf(refs[1])).body.erased === true ? true : undefined),
        'the journey to show the erasure',
      );
      const keys = await pool.query(
        `SELECT count(*) FILTER (WHERE data_key IS NOT NULL)::int AS live FROM ${c.schemaOf('key_service')}.data_keys WHERE person_ref = $1`,
        [refs[1]],
      );
      expect(keys.rows[0].live).toBe(0);
    });

    it("with the administrators' key from HLS_TOKEN_KEYS it names who asked; it asks each partner in turn", async () => {
      const raw = (c.tokenKeys as unknown as { keys: Map<string, Buffer> }).keys;
      const tokenKeys = JSON.stringify(
        Object.fromEntries([...raw].map(([o, k]) => [o, k.toString('base64url')])),
      );
      const withKeys = { ...env, HLS_TOKEN_KEYS: tokenKeys };
      const noWho = await cli(['erase', refs[2], '--ground', 'person-request'], withKeys);
      expect(noWho.code).toBe(2);
      expect(noWho.err).toContain('--as');
      const r = await cli(['erase', refs[2], '--ground', 'retention-ended', '--as', 'jo.bloggs'], withKeys);
      expect(r.code).toBe(0);
      const { rows } = await pool.query(
        `SELECT erased_by, erasure_reason FROM ${c.schemaOf('key_service')}.people WHERE person_ref = $1`,
        [refs[2]],
      );
      expect(rows[0]).toEqual({
        erased_by: `${c.consortium.id}-admin:jo.bloggs`,
        erasure_reason: 'retention-ended',
      });
    });

    it('refuses without authority, a bad ground, and a person nobody holds', async () => {
      const worker = await tokenFor(c, 'fresh-start', 'worker');
      const forbidden = await cli(
        ['erase', refs[0], '--ground', 'person-request', '--partner', 'fresh-start', '--token', worker],
        env,
      );
      expect(forbidden.code).toBe(2);
      expect(forbidden.err).toContain('403');
      const bad = await cli(['erase', refs[0], '--ground', 'because', '--token', worker], env);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('person-request');
      const nobody = await cli(
        ['erase', 'NE-AAAAAAAAAA', '--ground', 'person-request', '--token', await admin()],
        env,
      );
      expect(nobody.code).toBe(2);
      expect(nobody.err).toContain('holds a record of NE-AAAAAAAAAA');
      expect((await journeyOf(refs[0])).body.erased).toBeFalsy();
    });
  });

  describe('verify-pack', () => {
    it('checks a published pack by id and from a saved file; an altered file is not intact', async () => {
      const projection = c.projection.url;
      const steward = (p: string) => tokenFor(c, p, 'steward');
      const composed = await api(projection, 'POST', '/evidence-packs', await steward('fresh-start'), {
        body: 'cec',
        period: { from: '2026-01-01', to: new Date().toISOString().slice(0, 10) },
      });
      expect(composed.status).toBe(201);
      const packId = composed.body.packId as string;
      for (const p of ['move-on', 'north-edinburgh-arts', 'spartans'])
        expect(
          (await api(projection, 'POST', `/evidence-packs/${packId}/approval`, await steward(p))).status,
        ).toBe(201);
      expect(
        (await api(projection, 'POST', `/evidence-packs/${packId}/publication`, await steward('fresh-start')))
          .status,
      ).toBe(201);
      const reader = await tokenFor(c, 'cec', 'statutory-reader');
      const byId = await cli(['verify-pack', packId, '--token', reader], env);
      expect(byId.err).toBe('');
      expect(byId).toMatchObject({ code: 0 });
      expect(byId.out).toContain('INTACT');

      const file = `test-artifacts/ops-pack-${packId}.json`;
      writeFileSync(
        file,
        JSON.stringify((await api(projection, 'GET', `/evidence-packs/${packId}`, reader)).body),
      );
      expect((await cli(['verify-pack', file, '--token', reader, '--json'], env)).code).toBe(0);
      writeFileSync(file, readFileSync(file, 'utf8').replace(`"body":"cec"`, `"body":"nhs-lothian"`));
      const altered = await cli(['verify-pack', file, '--token', reader], env);
      expect(altered.code).toBe(1);
      expect(altered.out).toContain('NOT INTACT');
      const noToken = await cli(['verify-pack', packId], env);
      expect(noToken.code).toBe(2);
      expect(noToken.err).toContain('--token');
    }, 60_000);
  });

  describe('republish', () => {
    /** The read models' checksum once two readings a second apart agree (nothing more arriving). */
    const restingChecksum = async (): Promise<string> => {
      let last = await readModelChecksum(c);
      for (;;) {
        await new Promise((res) => setTimeout(res, 1000));
        const now = await readModelChecksum(c);
        if (now === last) return now;
        last = now;
      }
    };

    it("publishes a partner's log from a position again; consumers take each event once", async () => {
      if (!harnessState().realKafka) return;
      // Earlier tests' work may still be on its way to the projection: start from read models at rest.
      await settled(c);
      const before = await restingChecksum();
      const schema = c.schemaOf('partner_fresh_start');
      const { rows } = await pool.query(
        `SELECT min(position)::int AS lo, max(position)::int AS hi FROM ${schema}.events`,
      );
      const from = rows[0].lo + 3;
      const expected = rows[0].hi - from + 1;
      // A consumer of its own, from the beginning: it sees the relay's copy of each event, then the republished one.
      const seen = new Map<string, number>();
      const sub = await bus.subscribe(
        {
          groupId: `${c.consortium.id}.ops-test.${randomUUID()}`,
          topics: allTopics(c.consortium.id),
          fromBeginning: true,
        },
        async (batch: Delivery[]) => {
          for (const d of batch)
            if (d.event.partner === 'fresh-start')
              seen.set(`${d.event.position}`, (seen.get(`${d.event.position}`) ?? 0) + 1);
          return [];
        },
      );
      try {
        await eventually(
          async () => (seen.size >= rows[0].hi - rows[0].lo + 1 ? true : undefined),
          'the relay copies',
          30_000,
        );
        const r = await cli(
          ['republish', '--partner', 'fresh-start', '--from', String(from), '--batch-size', '4'],
          env,
        );
        expect(r).toMatchObject({ code: 0 });
        expect(r.out).toContain(
          `published ${expected} of fresh-start's events (positions ${from} to ${rows[0].hi})`,
        );
        await eventually(
          async () =>
            [...seen].filter(([p, n]) => Number(p) >= from && n >= 2).length >= expected ? true : undefined,
          'the republished copies',
          30_000,
        );
        expect([...seen].filter(([p, n]) => Number(p) < from && n > 1)).toEqual([]);
      } finally {
        await sub.stop();
      }
      // The projection took the copies as redeliveries: nothing changed.
      await settled(c);
      expect(await restingChecksum()).toBe(before);
      const unknown = await cli(['republish', '--partner', 'nobody', '--from', '1'], env);
      expect(unknown.code).toBe(2);
      expect(unknown.err).toContain('not a partner');
    }, 90_000);
  });

  describe('export and import', () => {
    it("moves a partner's store to another server with its hashes; refuses a non-empty store and an altered file", async () => {
      const file = `test-artifacts/ops-export-${randomUUID()}.ndjson`;
      const exported = await cli(['export', '--partner', 'spartans', file], env);
      expect(exported).toMatchObject({ code: 0 });
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      const header = JSON.parse(lines[0]);
      const trailer = JSON.parse(lines[lines.length - 1]);
      expect(header).toMatchObject({
        format: 'hls-consortium/event-store-export',
        partner: 'spartans',
        consortium: c.consortium.id,
      });
      const source = await PostgresEventStore.open({ pool, schema: c.schemaOf('partner_spartans') });
      const original = await source.verifyRange(1, Number.MAX_SAFE_INTEGER);
      expect(trailer).toMatchObject({ end: true, events: original.events });
      expect(lines).toHaveLength(original.events + 2);

      // "Another server": schemas of their own.
      const prefix = `${uniqueSchema('imp')}_`;
      const target = { ...env, HLS_SCHEMA_PREFIX: prefix };
      try {
        const imported = await cli(['import', '--partner', 'spartans', file, '--batch-size', '5'], target);
        expect(imported).toMatchObject({ code: 0 });
        expect(imported.out).toContain(`imported ${original.events} events`);
        const moved = await PostgresEventStore.open({ pool, schema: `${prefix}partner_spartans` });
        // Same positions, same hashes: the digest an evidence pack keeps is the same on the new server.
        expect(await moved.verifyRange(1, Number.MAX_SAFE_INTEGER)).toEqual(original);
        // Appends carry on after the imported log.
        const stream = (await source.readLog({ transactionId: '0', position: 0 }, 1))[0].streamId;
        const head = (await moved.readStream(stream)).length - 1;
        const appended = await moved.append(stream, head, [
          {
            id: randomUUID(),
            type: 'Test',
            schemaVersion: 1,
            data: {},
            metadata: (await source.readStream(stream))[0].metadata,
          },
        ]);
        expect(appended.positions[0]).toBeGreaterThan(
          Math.max(...(await source.readStream(stream)).map((e) => e.position)),
        );

        const again = await cli(['import', '--partner', 'spartans', file], target);
        expect(again.code).toBe(2);
        expect(again.err).toContain('import only into an empty store');
        const wrongPartner = await cli(['import', '--partner', 'move-on', file], target);
        expect(wrongPartner.code).toBe(2);
        expect(wrongPartner.err).toContain("spartans's store, not move-on's");

        // An event changed: the file's digest no longer holds.
        const altered = [...lines];
        altered[2] = altered[2].replace(/"type":"(\w+)"/, '"type":"$1X"');
        writeFileSync(file, `${altered.join('\n')}\n`);
        const bad = await cli(['import', '--partner', 'move-on', file], {
          ...target,
          HLS_SCHEMA_PREFIX: `${prefix}b_`,
        });
        expect(bad.code).toBe(2);
        // A file of another partner is refused before its contents are looked at; name it as spartans' again.
        const bad2 = await cli(['import', '--partner', 'spartans', file], {
          ...target,
          HLS_SCHEMA_PREFIX: `${prefix}b_`,
        });
        expect(bad2.code).toBe(2);
        expect(bad2.err).toContain('does not match its last line');
        // Changed with the digest made again to match: the hash chain catches it, and nothing is written.
        const { createHash } = await import('node:crypto');
        const body = altered
          .slice(1, -1)
          .map((l) => `${l}\n`)
          .join('');
        altered[altered.length - 1] = JSON.stringify({
          ...trailer,
          sha256: createHash('sha256').update(body).digest('hex'),
        });
        writeFileSync(file, `${altered.join('\n')}\n`);
        const forged = await cli(['import', '--partner', 'spartans', file], {
          ...target,
          HLS_SCHEMA_PREFIX: `${prefix}b_`,
        });
        expect(forged.code).toBe(2);
        expect(forged.err).toContain('the hash chain does not hold at positions');
        const { rows } = await pool.query(
          `SELECT count(*)::int AS n FROM ${prefix}b_partner_spartans.events`,
        );
        expect(rows[0].n).toBe(0);
      } finally {
        const { rows } = await pool.query(`SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, [
          prefix,
        ]);
        for (const { nspname } of rows) await pool.query(`DROP SCHEMA ${nspname} CASCADE`);
      }
      const exists = await cli(['export', '--partner', 'spartans', file], env);
      expect(exists.code).toBe(2);
      expect(exists.err).toContain('never overwrites');
    }, 90_000);
  });
});
