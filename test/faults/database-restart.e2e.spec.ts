import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { eventually, harnessState, testBus } from '../harness';
import { ApiResponse, api, readModelChecksum, settled, tokenFor } from '../harness/consortium';
import { cleanBuildChecksum, hourAgo, partnerSchemas, sleep, startFaultConsortium, TcpProxy } from './kit';

/**
 * The database goes away in the middle of writes and comes back at the same address (a proxy in front of the
 * test server is cut and restored, so no other suite's database moves). While it is away, every answer is a
 * clear 503 problem, never a 500; afterwards the services recover by themselves and nothing is half-done.
 */
describe('database restart during writes', () => {
  let c: RunningConsortium;
  let proxy: TcpProxy;

  beforeAll(async () => {
    const target = new URL(harnessState().databaseUrl);
    proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    c = await startFaultConsortium(
      (id) => testBus(id, 'db-restart'),
      proxy.urlFor(harnessState().databaseUrl),
    );
  }, 60000);
  afterAll(async () => {
    await proxy?.restore().catch(() => undefined);
    await c?.stop();
    await proxy?.stop();
  });

  it('answers 503 problems (never 500) while the database is down, recovers by itself, and loses or half-applies nothing', async () => {
    const fs = c.partners.get('fresh-start')!.url;
    const token = await tokenFor(c, 'fresh-start', 'worker', 'dsw-amy');
    // One person per writer, so that writers never race each other for a stream (that would be a 409).
    const refs: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await api(fs, 'POST', '/people', token, {
        name: `Dee Base ${i}`,
        dateOfBirth: '1985-01-01',
        whatMatters: 'x',
      });
      expect(r.status).toBe(201);
      refs.push(r.body.personRef as string);
    }
    const ref = refs[0];
    const contact = (who: string) =>
      api(fs, 'POST', `/people/${who}/journey/contacts`, token, {
        kind: 'phone-call',
        occurredAt: hourAgo(),
        durationMinutes: 5,
        notes: 'Checking in',
      }).catch((e: Error) => ({ status: 0, body: { error: e.message }, contentType: '' }) as ApiResponse);
    const read = () => api(c.projection.url, 'GET', `/people/${ref}/journey`, token);

    // Writers keep going throughout; the database is cut while they write.
    // Each answer with the phase its request began in and when it came back.
    const answers: { phase: string; r: ApiResponse; at: number }[] = [];
    let phase = 'before';
    let writing = true;
    const writers = refs.map(async (who) => {
      while (writing) {
        const p = phase;
        const r = await contact(who);
        answers.push({ phase: p, r, at: Date.now() });
        await sleep(20);
      }
    });
    await sleep(500);
    phase = 'cut';
    await proxy.cut();
    await sleep(300);
    phase = 'down';
    const downReads: ApiResponse[] = [];
    for (let i = 0; i < 5; i++) {
      downReads.push(await read());
      await sleep(300);
    }
    phase = 'restored';
    const restoredAt = Date.now();
    await proxy.restore();
    // Recovery by itself: nobody restarts anything; writes succeed again within a few seconds.
    const recoveredIn = Date.now();
    await eventually(
      async () => (answers.some((a) => a.phase === 'restored' && a.r.status === 201) ? true : undefined),
      'a write to succeed after the database came back',
      15000,
    );
    const recovery = Date.now() - recoveredIn;
    await sleep(300);
    writing = false;
    await Promise.all(writers);

    // Begun and answered while the database was away (a request begun then may wait for a connection and be
    // answered, successfully, once it is back: that one is judged with those around the cut, below).
    const down = answers.filter((a) => a.phase === 'down' && a.at < restoredAt);
    expect(down.length).toBeGreaterThan(10);
    for (const { r: a } of [...down, ...downReads.map((r) => ({ r }))]) {
      expect({ status: a.status, type: a.contentType, body: a.body }).toEqual({
        body: expect.anything(),
        status: 503,
        type: expect.stringContaining('application/problem+json'),
      });
      expect(a.body).toMatchObject({ status: 503, title: 'Service unavailable' });
      expect(JSON.stringify(a.body)).not.toMatch(/\bat .*\.(ts|js):\d+|ECONNREFUSED|stack/i);
    }
    // Around the cut an answer may be a success or a 503; never a 500 and never a dropped connection.
    expect(answers.filter((a) => ![201, 503].includes(a.r.status)).map((a) => [a.phase, a.r.status])).toEqual(
      [],
    );
    expect(recovery).toBeLessThan(15000);

    // Every acknowledged contact is in the store exactly once, and the projection catches up by itself.
    const acknowledged = answers.filter((a) => a.r.status === 201).map((a) => a.r.body.id as string);
    const store = c.partners.get('fresh-start')!.store;
    const stored: string[] = [];
    for (const who of refs)
      for (const e of await store.readStream(`person-${who}`)) stored.push(JSON.stringify(e.data));
    expect(acknowledged.length).toBeGreaterThan(10);
    expect(acknowledged.filter((id) => stored.filter((d) => d.includes(id)).length !== 1)).toEqual([]);
    await settled(c);
    expect((await read()).status).toBe(200);
    expect(await readModelChecksum(c)).toBe(
      await cleanBuildChecksum(harnessState().databaseUrl, c.consortium.id, partnerSchemas(c)),
    );
  }, 60000);
});
