import { createPool } from '@app/platform';
import { Pool } from 'pg';
import { harnessState, uniqueSchema } from '../../../test/harness';
import { checkpointOf, LOG_START, PostgresEventStore } from '../src';
import { eventStoreContract, newEvent, readWholeLog } from './event-store.contract';

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
    const log = await readWholeLog(store);
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

describe('a subscriber of the global log (real PostgreSQL)', () => {
  // PGlite runs one transaction at a time, so a late commit cannot happen there; on a real server it can.
  const onServer = state.pglite ? it.skip : it;

  onServer('never skips an event whose transaction commits after later ones became visible', async () => {
    const p = pool(state.databaseUrl);
    const store = await PostgresEventStore.open({ pool: p, schema: uniqueSchema('gap') });
    await store.append('before', 'any', [newEvent('before')]);
    const seen = await readWholeLog(store);
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

    const after = await readWholeLog(store, checkpoint);
    const delivered = [...whileOpen, ...after].map((e) => e.metadata.subject);
    expect(delivered.sort()).toEqual(['fast-1', 'fast-2', 'late']);
    // Positions say the late event was allocated first; the log still hands it over, once.
    expect((await readWholeLog(store, LOG_START)).filter((e) => e.id === late.id)).toHaveLength(1);
    await store.close();
  });
});
