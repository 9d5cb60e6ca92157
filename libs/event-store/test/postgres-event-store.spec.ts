import { createPool } from '@app/platform';
import { Pool } from 'pg';
import { harnessState, uniqueSchema } from '../../../test/harness';
import { checkpointOf, LOG_START, PostgresEventStore, WrongExpectedVersionError } from '../src';
import { eventStoreContract, newEvent, readVisibleLog, readWholeLog } from './event-store.contract';

const state = harnessState();
const pools: Pool[] = [];
function pool(url: string): Pool {
  const p = createPool(url, 20);
  pools.push(p);
  return p;
}
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});

eventStoreContract(
  state.pglite ? 'PostgreSQL adapter (on PGlite: no server here)' : 'PostgreSQL adapter',
  () => PostgresEventStore.open({ pool: pool(state.databaseUrl), schema: uniqueSchema('es') }),
);

// The embedded default runs the same SQL on PGlite and is held to the same contract.
eventStoreContract('embedded adapter (PGlite)', () =>
  PostgresEventStore.open({ pool: pool(state.embeddedUrl), schema: uniqueSchema('es') }),
);

describe('the global log across a power of ten in transaction ids', () => {
  // Transaction ids compared as text put 1000 before 994: a log ordered that way skips and repeats events.
  // The same SQL runs on a server; crossing a power of ten is cheap only on the embedded database.
  it('keeps commit order and reads each event once', async () => {
    const p = pool(state.embeddedUrl);
    const schema = uniqueSchema('digits');
    const store = await PostgresEventStore.open({ pool: p, schema });
    const [{ x }] = (await p.query('SELECT pg_current_xact_id()::text::bigint AS x')).rows;
    const boundary = 10 ** String(x).length;
    expect(boundary - x).toBeLessThan(100_000);
    await p.query(`CREATE TABLE ${schema}.burn (n int)`);
    // Each block with an exception handler is a subtransaction, and a write in it takes a transaction id.
    await p.query(
      `DO $$ BEGIN FOR i IN 1..${boundary - x - 6} LOOP
         BEGIN INSERT INTO ${schema}.burn VALUES (i); EXCEPTION WHEN others THEN NULL; END;
       END LOOP; END $$`,
    );
    for (let i = 0; i < 12; i++) await store.append(`s-${i % 2}`, 'any', [newEvent(`p${i}`)]);
    const log = await readVisibleLog(store, 12);
    expect(log.map((e) => e.metadata.subject)).toEqual(Array.from({ length: 12 }, (_, i) => `p${i}`));
    expect(log.some((e) => e.transactionId.length > String(x).length)).toBe(true);
  });
});

describe('the hash chain', () => {
  it('names every event whose content was altered behind the store’s back, and the ones chained after it', async () => {
    const p = pool(state.databaseUrl);
    const schema = uniqueSchema('tamper');
    const store = await PostgresEventStore.open({ pool: p, schema });
    const { positions } = await store.append('s', 'no_stream', [
      newEvent('x', 'T', { n: 1 }),
      newEvent('x', 'T', { n: 2 }),
    ]);
    await store.append('s', 1, [newEvent('x', 'T', { n: 3 })]);
    const before = await store.verifyRange(positions[0], positions[0] + 2);
    await p.query(`UPDATE ${schema}.events SET data = '{"n": 20}' WHERE position = $1`, [positions[1]]);
    const after = await store.verifyRange(positions[0], positions[0] + 2);
    expect(after.altered).toEqual([positions[1]]);
    // Rewriting the hash too does not hide it: the next event's hash was chained to the old one.
    await p.query(
      `UPDATE ${schema}.events e SET hash = ${schema}.event_hash(p.hash, e.event_id, e.event_type, e.schema_version, e.data, e.metadata)
         FROM ${schema}.events p WHERE e.position = $1 AND p.stream_id = e.stream_id AND p.version = e.version - 1`,
      [positions[1]],
    );
    const rehashed = await store.verifyRange(positions[0], positions[0] + 2);
    expect(rehashed.altered).toEqual([positions[1] + 1]);
    expect(rehashed.digest).not.toBe(before.digest);
  });
});

describe('hashes chained by the application', () => {
  const awkward = [
    { b: 1, a: [1e21, 1e-7, -0.5], é: 'line\nbreak "quoted" \\', '😀': null, aa: { z: true, y: {} } },
    { n: 2 ** 60, s: '\u0001\u001f\u007f€', '': [] },
  ];

  it('continue a chain the database hashed (a store recorded before they were), and everything verifies', async () => {
    const p = pool(state.databaseUrl);
    const schema = uniqueSchema('chain');
    // Recorded the way the store did before: the database computes every hash.
    const before = await PostgresEventStore.open({ pool: p, schema });
    await before.append('s', 'any', [newEvent('x', 'T', awkward[0])]);
    await before.append('s', 'any', [newEvent('x', 'T', awkward[1]), newEvent('x', 'T', { n: 3 })]);
    const first = (await before.readStream('s'))[0].position;

    // A store opened afterwards hashes in the application wherever it knows the previous hash.
    const after = await PostgresEventStore.open({ pool: p, schema });
    const sent: string[] = [];
    const query = p.query.bind(p);
    jest.spyOn(p, 'query').mockImplementation(((q: { text?: string } | string, ...rest: unknown[]) => {
      sent.push(typeof q === 'string' ? q : (q.text ?? ''));
      return (query as (...a: unknown[]) => unknown)(q, ...rest);
    }) as typeof p.query);
    await after.readStream('s');
    await after.append('s', 2, [newEvent('x', 'T', awkward[1])]);
    await after.append('s', 3, [newEvent('x', 'T', awkward[0]), newEvent('x', 'T', { n: 5 })]);
    await after.append('t', 'no_stream', [newEvent('y', 'T', awkward[0])]);
    await after.append('u', 'no_stream', [newEvent('y', 'T', awkward[1]), newEvent('y', 'T', awkward[0])]);
    await after.append('u', 1, [newEvent('y', 'T', { n: 1 })]);
    jest.restoreAllMocks();
    const appends = sent.filter((t) => t.includes('INSERT'));
    expect(appends).toHaveLength(5);
    for (const text of appends) expect(text).not.toContain('event_hash');
    // A big batch is hashed by the database again, chained onto the hash the application computed.
    await after.append(
      'u',
      2,
      Array.from({ length: 12 }, (_, i) => newEvent('y', 'T', awkward[i % 2])),
    );

    const s = await after.readStream('s');
    expect(s.map((e) => e.version)).toEqual([0, 1, 2, 3, 4, 5]);
    const last = (await after.readStream('u'))[14].position;
    const check = await after.verifyRange(first, last);
    expect(check).toMatchObject({ events: 22, altered: [] });
    // The same hashes as the database computes: every stored hash equals event_hash over its predecessor.
    const { rows } = await p.query(
      `SELECT count(*)::int AS n FROM ${schema}.events e LEFT JOIN ${schema}.events q
          ON q.stream_id = e.stream_id AND q.version = e.version - 1
        WHERE e.hash = ${schema}.event_hash(coalesce(q.hash, '\\x'::bytea), e.event_id, e.event_type,
                         e.schema_version, e.data, e.metadata)`,
    );
    expect(rows[0].n).toBe(22);
  });

  it('refuse a stale version when another writer moved the stream on, and chain from the real head after', async () => {
    const p = pool(state.databaseUrl);
    const schema = uniqueSchema('stale');
    const a = await PostgresEventStore.open({ pool: p, schema });
    const b = await PostgresEventStore.open({ pool: p, schema });
    await a.append('s', 'no_stream', [newEvent('x')]);
    await b.append('s', 0, [newEvent('x')]);
    await expect(a.append('s', 0, [newEvent('x')])).rejects.toBeInstanceOf(WrongExpectedVersionError);
    await a.append('s', 1, [newEvent('x')]);
    await a.append('s', 2, [newEvent('x'), newEvent('x')]);
    const s = await a.readStream('s');
    expect(s.map((e) => e.version)).toEqual([0, 1, 2, 3, 4]);
    expect(await a.verifyRange(s[0].position, s[4].position)).toMatchObject({ events: 5, altered: [] });
  });

  it('do not take an append rolled back in its transaction for the stream’s head', async () => {
    const p = pool(state.databaseUrl);
    const store = await PostgresEventStore.open({ pool: p, schema: uniqueSchema('rollback') });
    const client = await p.connect();
    await client.query('BEGIN');
    await store.appendWith(client, 's', 'no_stream', [newEvent('x')]);
    await client.query('ROLLBACK');
    client.release();
    await expect(store.append('s', 0, [newEvent('x')])).rejects.toBeInstanceOf(WrongExpectedVersionError);
    await store.append('s', 'no_stream', [newEvent('x')]);
    expect((await store.readStream('s')).map((e) => e.version)).toEqual([0]);
  });
});

describe('a subscriber of the global log (real PostgreSQL)', () => {
  // PGlite runs one transaction at a time, so a late commit cannot happen there; on a real server it can.
  const onServer = state.pglite ? it.skip : it;

  onServer('never skips an event whose transaction commits after later ones became visible', async () => {
    const p = pool(state.databaseUrl);
    const store = await PostgresEventStore.open({ pool: p, schema: uniqueSchema('gap') });
    await store.append('before', 'any', [newEvent('before')]);
    const seen = await readVisibleLog(store, 1);
    let checkpoint = checkpointOf(seen[seen.length - 1]);

    // A slow writer takes its position first and holds its transaction open...
    const slow = await p.connect();
    await slow.query('BEGIN');
    const late = newEvent('late');
    await store.appendWith(slow, 'slow-stream', 'any', [late]);

    // ...while others commit after it.
    await store.append('fast-1', 'any', [newEvent('fast-1')]);
    await store.append('fast-2', 'any', [newEvent('fast-2')]);

    // The subscriber moves on while the slow transaction is open: it must not pass the late event by.
    const whileOpen = await store.readLog(checkpoint, 100);
    expect(whileOpen.map((e) => e.metadata.subject)).not.toContain('late');
    if (whileOpen.length) checkpoint = checkpointOf(whileOpen[whileOpen.length - 1]);

    await slow.query('COMMIT');
    slow.release();

    const after = await readVisibleLog(store, 3 - whileOpen.length, checkpoint);
    const delivered = [...whileOpen, ...after].map((e) => e.metadata.subject);
    expect(delivered.sort()).toEqual(['fast-1', 'fast-2', 'late']);
    // Positions say the late event was allocated first; the log still hands it over, once.
    expect((await readWholeLog(store, LOG_START)).filter((e) => e.id === late.id)).toHaveLength(1);
    await store.close();
  });
});
