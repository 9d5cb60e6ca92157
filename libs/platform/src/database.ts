import { mkdirSync } from 'node:fs';
import { Pool, types } from 'pg';

// int8 (global positions, counts) as JavaScript numbers: positions stay far below 2^53.
types.setTypeParser(types.builtins.INT8, (v) => Number(v));

export function createPool(connectionString: string, max = 10): Pool {
  const pool = new Pool({ connectionString, max, connectionTimeoutMillis: 5000 });
  // An idle client that loses its server must not crash the process; the next query reports the fault.
  pool.on('error', () => undefined);
  return pool;
}

/** Schemas are named in SQL, so a name from configuration is checked before it is used. */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`"${schema}" is not a usable schema name`);
  return schema;
}

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * The embedded default: PostgreSQL compiled to WebAssembly (PGlite), served over the wire protocol so that
 * `pg` and TypeORM use it exactly as they use a real server. Persisted to dataDir; in memory without one.
 */
export async function startEmbeddedPostgres(dataDir?: string, port = 0): Promise<EmbeddedPostgres> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 64 });
  await server.start();
  const address = (server as unknown as { port?: number }).port ?? port;
  return {
    url: `postgres://postgres@127.0.0.1:${address}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
