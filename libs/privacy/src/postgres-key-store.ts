import { randomBytes } from 'node:crypto';
import { checkSchemaName, createPool, isConnectionFault, migrate, UnavailableError } from '@app/platform';
import { Pool } from 'pg';
import { KeyStore, PersonErasedError } from './key-store.port';

const MIGRATIONS = [
  `CREATE TABLE {schema}.person_keys (
     person_ref  text PRIMARY KEY,
     data_key    bytea,
     created_at  timestamptz NOT NULL DEFAULT now(),
     erased_at   timestamptz,
     erased_by   text,
     erasure_reason text,
     CONSTRAINT erased_has_no_key CHECK ((erased_at IS NULL) = (data_key IS NOT NULL))
   );`,
  `CREATE TABLE {schema}.match_keys (
     match_key  text NOT NULL,
     person_ref text NOT NULL REFERENCES {schema}.person_keys (person_ref),
     PRIMARY KEY (match_key, person_ref)
   );`,
];

/**
 * The consortium key service's store: its own schema (in production its own database), so that destroying
 * one row is all that erasure needs. Decided in docs/adr/0003-consortium-key-service.md.
 */
export class PostgresKeyStore implements KeyStore {
  private constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly ownsPool: boolean,
  ) {}

  static async open(options: { pool?: Pool; url?: string; schema: string }): Promise<PostgresKeyStore> {
    const schema = checkSchemaName(options.schema);
    if (!options.pool && !options.url) throw new Error('A key store needs a pool or a database URL');
    const pool = options.pool ?? createPool(options.url as string);
    await migrate(pool, schema, 'key-store', MIGRATIONS);
    return new PostgresKeyStore(pool, schema, !options.pool);
  }

  async keyFor(personRef: string): Promise<Buffer> {
    // Insert-or-read in one statement. A writer that loses a race for the first key may not yet see the
    // winner's row in its own statement's snapshot: it reads again, and then does.
    for (let attempt = 0; attempt < 3; attempt++) {
      const { rows } = await this.query<{ data_key: Buffer | null }>(
        `WITH made AS (
           INSERT INTO ${this.schema}.person_keys (person_ref, data_key) VALUES ($1, $2)
           ON CONFLICT (person_ref) DO NOTHING RETURNING data_key)
         SELECT data_key FROM made
         UNION ALL SELECT data_key FROM ${this.schema}.person_keys WHERE person_ref = $1
         LIMIT 1`,
        [personRef, randomBytes(32)],
      );
      if (rows.length === 0) continue;
      if (!rows[0].data_key) throw new PersonErasedError(personRef);
      return rows[0].data_key;
    }
    throw new UnavailableError(`The key service could not settle a key for ${personRef}; try again`);
  }

  async findKey(personRef: string): Promise<Buffer | null> {
    const { rows } = await this.query<{ data_key: Buffer | null }>(
      `SELECT data_key FROM ${this.schema}.person_keys WHERE person_ref = $1`,
      [personRef],
    );
    return rows[0]?.data_key ?? null;
  }

  async destroyKey(personRef: string, reason: string, by: string): Promise<void> {
    await this.query(`DELETE FROM ${this.schema}.match_keys WHERE person_ref = $1`, [personRef]);
    await this.query(
      `INSERT INTO ${this.schema}.person_keys (person_ref, data_key, erased_at, erased_by, erasure_reason)
       VALUES ($1, NULL, now(), $2, $3)
       ON CONFLICT (person_ref) DO UPDATE
         SET data_key = NULL, erased_at = coalesce(${this.schema}.person_keys.erased_at, now()),
             erased_by = $2, erasure_reason = $3`,
      [personRef, by, reason],
    );
  }

  async isErased(personRef: string): Promise<boolean> {
    const { rows } = await this.query<{ erased: boolean }>(
      `SELECT erased_at IS NOT NULL AS erased FROM ${this.schema}.person_keys WHERE person_ref = $1`,
      [personRef],
    );
    return rows[0]?.erased ?? false;
  }

  async recordMatchKey(personRef: string, matchKey: string): Promise<void> {
    await this.query(
      `INSERT INTO ${this.schema}.match_keys (match_key, person_ref)
       SELECT $1, person_ref FROM ${this.schema}.person_keys WHERE person_ref = $2 AND data_key IS NOT NULL
       ON CONFLICT DO NOTHING`,
      [matchKey, personRef],
    );
  }

  async findByMatchKey(matchKey: string): Promise<string[]> {
    const { rows } = await this.query<{ person_ref: string }>(
      `SELECT m.person_ref FROM ${this.schema}.match_keys m
         JOIN ${this.schema}.person_keys k USING (person_ref)
        WHERE m.match_key = $1 AND k.data_key IS NOT NULL ORDER BY m.person_ref`,
      [matchKey],
    );
    return rows.map((r) => r.person_ref);
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  private async query<R extends object>(sql: string, params: unknown[]) {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (e) {
      if (isConnectionFault(e)) throw new UnavailableError('The key service is unavailable just now', e);
      throw e;
    }
  }
}
