import { ApiResponse, api, readModelChecksum, settled, tokenFor } from '../harness/consortium';
import { cleanBuildChecksum, hourAgo, onOwnKafka, partnerSchemas, realKafka, recordWork, sleep } from './kit';

/** Longer than every client timeout of the bus: requests (10 s), sessions (10 s), connections (3 s). */
const OUTAGE_MS = 12_000;

/**
 * The Kafka cluster freezes (SIGSTOP) while partners keep recording, for longer than the clients' timeouts,
 * then resumes (SIGCONT). The services answer users throughout, and every event recorded in the outage
 * reaches the projection exactly once in effect.
 */
(realKafka() ? describe : describe.skip)('broker outage', () => {
  const setup = onOwnKafka('outage');

  it('partners keep recording and every service answers while the cluster is frozen; afterwards every event is projected once', async () => {
    const [c, kafka] = [setup.c(), setup.kafka()];
    const [ref] = await recordWork(c, 'before', 1);
    await settled(c);
    const fs = c.partners.get('fresh-start')!.url;
    const token = await tokenFor(c, 'fresh-start', 'worker', 'dsw-outage');

    kafka.freeze();
    const started = Date.now();
    const answers: { what: string; ms: number; r: ApiResponse }[] = [];
    const timed = async (what: string, call: () => Promise<ApiResponse>) => {
      const t = Date.now();
      answers.push({ what, r: await call(), ms: Date.now() - t });
    };
    let n = 0;
    while (Date.now() - started < OUTAGE_MS) {
      n++;
      await timed('contact', () =>
        api(fs, 'POST', `/people/${ref}/journey/contacts`, token, {
          kind: 'message',
          occurredAt: hourAgo(),
          durationMinutes: 1,
          notes: `During the outage ${n}`,
        }),
      );
      if (n % 5 === 0)
        await timed('register', () =>
          api(fs, 'POST', '/people', token, {
            name: `Outage ${n}`,
            dateOfBirth: '1970-07-07',
            whatMatters: 'y',
          }),
        );
      await timed('journey', () => api(c.projection.url, 'GET', `/people/${ref}/journey`, token));
      await sleep(200);
    }
    kafka.resume();

    const refused = answers.filter((a) => a.r.status !== (a.what === 'journey' ? 200 : 201));
    expect(refused.map((a) => [a.what, a.r.status])).toEqual([]);
    // Answered at once, not after a broker timeout: recording does not wait for Kafka.
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(2000);
    const recorded = answers.filter((a) => a.what !== 'journey').length;
    expect(recorded).toBeGreaterThan(20);

    // Everything recorded reaches the projection, and is applied once: the read models equal a clean build.
    const processed = await settled(c);
    const [{ stored }] = await c.projection.dataSource.query(
      `SELECT count(*)::int AS stored FROM (${partnerSchemas(c)
        .map((s) => `SELECT event_id FROM ${s}.events`)
        .join(' UNION ALL ')}) e`,
    );
    expect(processed).toBe(stored);
    const entries = await c.projection.dataSource.query(
      `SELECT count(*)::int AS n FROM ${c.schemaOf('projection')}.journey_entries WHERE details->>'kind' = 'message'`,
    );
    expect(entries[0].n).toBe(answers.filter((a) => a.what === 'contact').length);
    expect(await readModelChecksum(c)).toBe(
      await cleanBuildChecksum(c.databaseUrl, c.consortium.id, partnerSchemas(c)),
    );
  }, 90000);
});
