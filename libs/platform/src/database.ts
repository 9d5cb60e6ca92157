import { mkdirSync } from 'node:fs';
import { Pool, types } from 'pg';
import { isConnectionFault } from './errors';

// int8 (global positions, counts) as JavaScript numbers: positions stay far below 2^53.
types.setTypeParser(types.builtins.INT8, (v) => Number(v));

export function createPool(connectionString: string, max = 10): Pool {
  const pool = new Pool({ connectionString, max, connectionTimeoutMillis: 5000 });
  // An idle client that loses its server must not crash the process; the next query reports the fault.
  pool.on('error', () => undefined);
  keepConnectionsOnRefusedStatements(pool);
  return pool;
}

/**
 * pg-pool's `pool.query` throws away the connection behind any statement that fails. A statement the server
 * refused (a unique key: the event store's concurrency conflict, answered 409) leaves its connection as good
 * as it was; throwing it away made every conflict cost a new server process, and under contention the server
 * spent more time starting them than answering. Only a connection that broke is thrown away here.
 */
function keepConnectionsOnRefusedStatements(pool: Pool): void {
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  const refused = (e: unknown) =>
    /^[0-9A-Z]{5}$/.test((e as { code?: string })?.code ?? '') && !isConnectionFault(e);
  pool.query = ((config: unknown, values?: unknown, callback?: unknown) => {
    if (typeof values === 'function' || typeof callback === 'function')
      return query(config, values, callback);
    return (async () => {
      const client = await pool.connect();
      // A checked-out client that loses its server emits 'error'; unheard, that would end the process. The
      // query's own promise reports the fault.
      const heard = () => undefined;
      client.on('error', heard);
      let fault: Error | undefined;
      try {
        return await client.query(config as string, values as unknown[]);
      } catch (e) {
        fault = refused(e) ? undefined : (e as Error);
        throw e;
      } finally {
        client.off('error', heard);
        client.release(fault);
      }
    })();
  }) as Pool['query'];
}

/** Schemas are named in SQL, so a name from configuration is checked before it is used. */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`"${schema}" is not a usable schema name`);
  return schema;
}

/**
 * PGlite serves every connection from one backend session, so per-connection state such as named prepared
 * statements would collide there. The embedded URL names this user so that adapters can tell.
 */
const EMBEDDED_USER = 'pglite';

export function sharesOneSession(pool: Pool): boolean {
  return isEmbedded(
    (pool as unknown as { options: { connectionString?: string } }).options.connectionString ?? '',
  );
}

/** Whether a database URL is the embedded default's (see sharesOneSession). */
export function isEmbedded(url: string): boolean {
  try {
    return new URL(url).username === EMBEDDED_USER;
  } catch {
    return false;
  }
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
  keepExtendedQueriesWhole((server as unknown as { queryQueue: QueryQueue }).queryQueue);
  await server.start();
  const address = (server as unknown as { port?: number }).port ?? port;
  return {
    url: `postgres://${EMBEDDED_USER}@127.0.0.1:${address}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  resolve(bytes: number): void;
  reject(e: unknown): void;
  onData(data: Uint8Array): void;
}

interface QueryQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  db: {
    isInTransaction(): boolean;
    runExclusive<T>(fn: () => Promise<T>): Promise<T>;
    execProtocolRawStream(m: Uint8Array, o: { onRawData(d: Uint8Array): void }): Promise<unknown>;
  };
  processQueue(): Promise<void>;
  clearTransactionIfNeeded(handlerId: number): Promise<void>;
}

const SYNC = 0x53; // 'S': ends an extended-protocol exchange (Parse, Bind, Describe, Execute, ..., Sync)
const QUERY = 0x51; // 'Q': a simple query is whole in itself
const TERMINATE = 0x58;

/**
 * pglite-socket passes each protocol message of every connection to PGlite's one session in arrival order,
 * keeping a connection's messages together only inside a transaction. Two connections' extended-protocol
 * exchanges can then interleave (one's Bind meets the other's Parse: "bind message supplies 1 parameters,
 * but prepared statement requires 3"). This keeps each exchange whole, from its first message to its Sync.
 */
function keepExtendedQueriesWhole(q: QueryQueue): void {
  let midExchange = false;
  q.processQueue = async function processQueue(this: QueryQueue) {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const sticky = (midExchange || this.db.isInTransaction()) && this.lastHandlerId !== null;
        const index = sticky ? this.queue.findIndex((m) => m.handlerId === this.lastHandlerId) : 0;
        if (index === -1) break; // the connection in the middle of an exchange has not sent its next message yet
        const [item] = this.queue.splice(index, 1);
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (d) => {
                bytes += d.length;
                item.onData(d);
              },
            }),
          );
        } catch (e) {
          midExchange = false;
          item.reject(e);
          continue;
        }
        this.lastHandlerId = item.handlerId;
        midExchange = ![SYNC, QUERY, TERMINATE].includes(item.message[0]);
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  };
  const clear = q.clearTransactionIfNeeded.bind(q);
  q.clearTransactionIfNeeded = async (handlerId: number) => {
    // A connection that went away in the middle of an exchange must not hold the others up.
    if (q.lastHandlerId === handlerId) midExchange = false;
    await clear(handlerId);
    await q.processQueue();
  };
}
