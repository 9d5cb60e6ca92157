import { Pool } from 'pg';
import { TcpProxy } from '../../../test/faults/kit';
import { harnessState, uniqueSchema } from '../../../test/harness';
import { createPool, isConnectionFault } from '../src';

describe('a pool made by createPool', () => {
  let pool: Pool;
  const schema = uniqueSchema('pool');
  beforeAll(async () => {
    // One connection: whatever serves the next statement is the connection the last one used, or a new one.
    pool = createPool(harnessState().databaseUrl, 1);
    await pool.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.t (id int PRIMARY KEY)`);
  });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA ${schema} CASCADE`);
    await pool.end();
  });
  const backend = async () =>
    (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;

  it('keeps its connection when the server refuses a statement (a unique key), and says why', async () => {
    const before = await backend();
    await pool.query(`INSERT INTO ${schema}.t VALUES (1)`);
    await expect(pool.query(`INSERT INTO ${schema}.t VALUES (1)`)).rejects.toMatchObject({ code: '23505' });
    await expect(
      pool.query({ name: 'bad', text: 'SELECT nonsense FROM nowhere', values: [] }),
    ).rejects.toMatchObject({ code: '42P01' });
    expect(await backend()).toBe(before);
    // The connection is in a good state: the next statements work and see what was written.
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.t`)).rows[0].n).toBe(1);
  });

  it('throws away a connection that broke, and the next statement gets a new one', async () => {
    const before = await backend();
    await expect(pool.query('SELECT pg_terminate_backend(pg_backend_pid())')).rejects.toBeTruthy();
    const after = await backend();
    expect(after).not.toBe(before);
  });

  it('reports a connection cut in the middle of a statement as a fault, without ending the process', async () => {
    const target = new URL(harnessState().databaseUrl);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    const cutOff = createPool(proxy.urlFor(harnessState().databaseUrl), 1);
    try {
      const slow = cutOff.query('SELECT pg_sleep(5)');
      await new Promise((r) => setTimeout(r, 300));
      await proxy.cut();
      const fault = await slow.then(
        () => null,
        (e: unknown) => e,
      );
      expect(isConnectionFault(fault)).toBe(true);
      await proxy.restore();
      expect((await cutOff.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await cutOff.end();
      await proxy.stop();
    }
  });

  it('still answers the callback form', async () => {
    const rows = await new Promise<unknown[]>((resolve, reject) =>
      pool.query('SELECT 1 AS one', [], (err, res) => (err ? reject(err) : resolve(res.rows))),
    );
    expect(rows).toEqual([{ one: 1 }]);
  });
});
