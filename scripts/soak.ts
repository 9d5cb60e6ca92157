import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { loadConsortium } from '@app/consortium';
import { brokersFromEnv, KafkaBus } from '@app/messaging';
import { TokenKeys } from '@app/platform';
import { startConsortium } from '../apps/consortium/src/consortium-runner';
import { organisationsOf } from '../apps/consortium/src/secrets';
import { api, tokenFor } from '../test/harness/consortium';
import { startMockKafka } from '../test/harness/global-setup';

/**
 * `npm run soak`: the consortium in one process on real PostgreSQL (DATABASE_URL, default 127.0.0.1:5432/test)
 * and Kafka (KAFKA_BROKERS, or a kcat mock cluster started here), with workers recording at a steady rate for
 * SOAK_MINUTES (default 10) at SOAK_RATE commands a second (default 50). Every 30 s (SOAK_REPORT_SECONDS) it
 * prints the resident memory, the heap, how many events the projection is behind, and the failed commands;
 * at the end it waits for the projection to drain and exits 1 if anything failed or the lag never drained.
 */
async function main() {
  const minutes = Number(process.env.SOAK_MINUTES ?? 10);
  const rate = Number(process.env.SOAK_RATE ?? 50);
  const every = Number(process.env.SOAK_REPORT_SECONDS ?? 30) * 1000;
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  let kcatPid: number | null = null;
  let brokers = brokersFromEnv();
  if (!brokers) {
    const mock = await startMockKafka();
    kcatPid = mock.pid;
    brokers = () => mock.bootstrap.split(',');
    log(`Kafka: kcat mock cluster at ${mock.bootstrap}`);
  }
  const base = loadConsortium();
  const consortium = { ...base, id: `${base.id}-soak-${randomBytes(3).toString('hex')}` };
  const prefix = `soak_${randomBytes(3).toString('hex')}_`;
  const c = await startConsortium({
    consortium,
    secrets: {
      tokenKeys: TokenKeys.generate(organisationsOf(consortium)),
      matchingSecret: randomBytes(32).toString('base64url'),
    },
    databaseUrl,
    bus: new KafkaBus({ clientId: consortium.id, consortiumId: consortium.id, brokers }),
    schemaPrefix: prefix,
  });
  log(`consortium ${consortium.id} up (schemas ${prefix}*); ${rate} commands/s for ${minutes} min`);

  const partners = [...c.partners.values()];
  const tokens = await Promise.all(
    partners.map((p) => tokenFor(c, p.partnerId, 'worker', `soak-${p.partnerId}`)),
  );
  const people: { partner: number; ref: string }[] = [];
  const counts = { ok: 0, failed: 0, lastFailure: '' };
  const command = async (n: number) => {
    const i = n % partners.length;
    const url = partners[i].url;
    const mine = people.filter((p) => p.partner === i);
    const r =
      mine.length < 20 || n % 10 === 0
        ? await api(url, 'POST', '/people', tokens[i], {
            name: `Soak ${n}`,
            dateOfBirth: '1980-01-01',
            whatMatters: 'A steady job',
          })
        : await api(url, 'POST', `/people/${mine[n % mine.length].ref}/journey/contacts`, tokens[i], {
            kind: 'visit',
            occurredAt: new Date(Date.now() - 60_000).toISOString(),
            durationMinutes: 15,
            notes: `Visit ${n}`,
          });
    if (r.status === 201) {
      counts.ok++;
      if (r.body.personRef && !r.body.id) people.push({ partner: i, ref: r.body.personRef as string });
    } else {
      counts.failed++;
      counts.lastFailure = `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`;
    }
  };
  const lag = async () => {
    let recorded = 0;
    for (const p of partners) {
      const [{ n }] = await c.projection.dataSource.query(
        `SELECT count(*)::int AS n FROM ${c.schemaOf(`partner_${p.partnerId}`)}.events`,
      );
      recorded += n;
    }
    const [{ n }] = await c.projection.dataSource.query(
      `SELECT count(*)::int AS n FROM ${c.schemaOf('projection')}.processed_events`,
    );
    return { recorded, lag: recorded - n };
  };
  const report = async (label: string) => {
    const m = process.memoryUsage();
    const l = await lag();
    log(
      `${label}: rss ${mb(m.rss)} MB, heap ${mb(m.heapUsed)} MB; ${l.recorded} events recorded, ` +
        `projection ${l.lag} behind; ${counts.ok} commands ok, ${counts.failed} failed` +
        (counts.lastFailure ? ` (last: ${counts.lastFailure})` : ''),
    );
    return l;
  };

  const started = Date.now();
  const end = started + minutes * 60_000;
  let n = 0;
  let nextReport = started + every;
  const inFlight = new Set<Promise<void>>();
  while (Date.now() < end) {
    // A steady rate: each command is sent at its own moment, whether or not the one before has answered.
    const due = started + (n * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    const p = command(n++).catch((e: Error) => {
      counts.failed++;
      counts.lastFailure = e.message;
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (Date.now() >= nextReport) {
      nextReport += every;
      await report(`${Math.round((Date.now() - started) / 1000)} s`);
    }
  }
  await Promise.all(inFlight);
  let final = await report('end of load');
  const drainBy = Date.now() + 60_000;
  while (final.lag > 0 && Date.now() < drainBy) {
    await sleep(1000);
    final = await lag();
  }
  await report('drained');
  await c.stop();
  if (kcatPid) process.kill(kcatPid, 'SIGKILL');
  const ok = counts.failed === 0 && final.lag === 0;
  log(ok ? 'soak passed' : 'soak FAILED: commands failed or the projection did not catch up');
  process.exit(ok ? 0 : 1);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
const log = (line: string) =>
  process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
