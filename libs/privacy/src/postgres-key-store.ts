import { randomBytes } from 'node:crypto';
import { checkSchemaName, createPool, isConnectionFault, migrate, UnavailableError } from '@app/platform';
import { Pool } from 'pg';
import { KeyStore, PersonErasedError, RetentionEndedError, UnknownPersonError } from './key-store.port';
import { parseKeyId, RecordKind } from './personal-data';

const MIGRATIONS = [
  `CREATE TABLE {schema}.people (
     person_ref     text PRIMARY KEY,
     added_at       timestamptz NOT NULL DEFAULT now(),
     erased_at      timestamptz,
     erased_by      text,
     erasure_reason text
   );
   CREATE TABLE {schema}.data_keys (
     kid            text PRIMARY KEY,
     person_ref     text NOT NULL REFERENCES {schema}.people (person_ref),
     kind           text NOT NULL,
     period         text NOT NULL,
     data_key       bytea,
     made_at        timestamptz NOT NULL DEFAULT now(),
     destroyed_at   timestamptz,
     destroy_reason text,
     CONSTRAINT destroyed_has_no_key CHECK ((destroyed_at IS NULL) = (data_key IS NOT NULL))
   );
   CREATE INDEX data_keys_person ON {schema}.data_keys (person_ref);
   CREATE INDEX data_keys_retention ON {schema}.data_keys (kind, period) WHERE data_key IS NOT NULL;
   CREATE TABLE {schema}.match_keys (
     match_key  text NOT NULL,
     person_ref text NOT NULL REFERENCES {schema}.people (person_ref),
     PRIMARY KEY (match_key, person_ref)
   );`,
];

/**
 * The consortium key service's store: its own schema (in production its own database), so that erasure is
 * the destruction of rows here and nothing else. Decided in docs/adr/0003-consortium-key-service.md.
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
    await migrate(pool, schema, 'key-service', MIGRATIONS);
    return new PostgresKeyStore(pool, schema, !options.pool);
  }

  async addPerson(personRef: string): Promise<void> {
    await this.query(`INSERT INTO ${this.schema}.people (person_ref) VALUES ($1) ON CONFLICT DO NOTHING`, [
      personRef,
    ]);
  }

  async keyFor(kid: string): Promise<Buffer> {
    const { personRef, kind, period } = parseKeyId(kid);
    // Insert-or-read in one statement, only for a person who is registered and not erased. A writer that
    // loses a race for the first key may not see the winner's row in its statement's snapshot: it reads again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const { rows } = await this.query<{ data_key: Buffer | null; erased: boolean | null }>(
        `WITH person AS (SELECT erased_at IS NOT NULL AS erased FROM ${this.schema}.people WHERE person_ref = $2),
              made AS (
                INSERT INTO ${this.schema}.data_keys (kid, person_ref, kind, period, data_key)
                SELECT $1, $2, $3, $4, $5 FROM person WHERE NOT person.erased
                ON CONFLICT (kid) DO NOTHING RETURNING data_key)
         SELECT (SELECT erased FROM person) AS erased,
                coalesce((SELECT data_key FROM made), (SELECT data_key FROM ${this.schema}.data_keys WHERE kid = $1)) AS data_key,
                (SELECT destroyed_at IS NOT NULL FROM ${this.schema}.data_keys WHERE kid = $1) AS destroyed`,
        [kid, personRef, kind, period, randomBytes(32)],
      );
      const row = rows[0] as { data_key: Buffer | null; erased: boolean | null; destroyed: boolean | null };
      if (row.erased === null) throw new UnknownPersonError(personRef);
      if (row.erased) throw new PersonErasedError(personRef);
      if (row.data_key) return row.data_key;
      if (row.destroyed) throw new RetentionEndedError(kid);
    }
    throw new UnavailableError(`The key service could not settle key ${kid}; try again`);
  }

  async findKeys(kids: Iterable<string>): Promise<Map<string, Buffer | null>> {
    const list = [...new Set(kids)];
    const found = new Map<string, Buffer | null>(list.map((k) => [k, null]));
    if (list.length === 0) return found;
    const { rows } = await this.query<{ kid: string; data_key: Buffer | null }>(
      `SELECT kid, data_key FROM ${this.schema}.data_keys WHERE kid = ANY($1)`,
      [list],
    );
    for (const r of rows) found.set(r.kid, r.data_key);
    return found;
  }

  async personKeys(
    personRef: string,
    kids: Iterable<string>,
  ): Promise<{ erased: boolean; keys: Map<string, Buffer | null> }> {
    const list = [...new Set(kids)];
    const keys = new Map<string, Buffer | null>(list.map((k) => [k, null]));
    // The person's row first (kid null), then their keys: one round trip for both.
    const { rows } = await this.query<{
      kid: string | null;
      data_key: Buffer | null;
      erased: boolean | null;
    }>(
      `SELECT NULL AS kid, NULL::bytea AS data_key,
              (SELECT erased_at IS NOT NULL FROM ${this.schema}.people WHERE person_ref = $1) AS erased
       UNION ALL
       SELECT kid, data_key, NULL FROM ${this.schema}.data_keys WHERE kid = ANY($2)`,
      [personRef, list],
    );
    for (const r of rows) if (r.kid !== null) keys.set(r.kid, r.data_key);
    return { erased: rows.find((r) => r.kid === null)?.erased ?? false, keys };
  }

  async erasePerson(personRef: string, reason: string, by: string): Promise<void> {
    await this.query(
      `WITH person AS (
         INSERT INTO ${this.schema}.people (person_ref, erased_at, erased_by, erasure_reason) VALUES ($1, now(), $2, $3)
         ON CONFLICT (person_ref) DO UPDATE
           SET erased_at = coalesce(people.erased_at, now()), erased_by = $2, erasure_reason = $3
         RETURNING person_ref),
       keys AS (
         UPDATE ${this.schema}.data_keys SET data_key = NULL, destroyed_at = now(), destroy_reason = 'erasure: ' || $3
          WHERE person_ref = $1 AND data_key IS NOT NULL RETURNING kid),
       matches AS (DELETE FROM ${this.schema}.match_keys WHERE person_ref = $1 RETURNING person_ref)
       SELECT (SELECT count(*) FROM keys) AS keys, (SELECT count(*) FROM matches) AS matches`,
      [personRef, by, reason],
    );
  }

  async isErased(personRef: string): Promise<boolean> {
    const { rows } = await this.query<{ erased: boolean }>(
      `SELECT erased_at IS NOT NULL AS erased FROM ${this.schema}.people WHERE person_ref = $1`,
      [personRef],
    );
    return rows[0]?.erased ?? false;
  }

  async expireKeys(kind: RecordKind, periodBefore: string, reason: string): Promise<string[]> {
    const { rows } = await this.query<{ kid: string }>(
      `UPDATE ${this.schema}.data_keys SET data_key = NULL, destroyed_at = now(), destroy_reason = $3
        WHERE kind = $1 AND period < $2 AND data_key IS NOT NULL RETURNING kid`,
      [kind, periodBefore, reason],
    );
    return rows.map((r) => r.kid);
  }

  async recordMatchKey(personRef: string, matchKey: string): Promise<void> {
    await this.query(
      `INSERT INTO ${this.schema}.match_keys (match_key, person_ref)
       SELECT $1, person_ref FROM ${this.schema}.people WHERE person_ref = $2 AND erased_at IS NULL
       ON CONFLICT DO NOTHING`,
      [matchKey, personRef],
    );
  }

  async findByMatchKey(matchKey: string): Promise<string[]> {
    const { rows } = await this.query<{ person_ref: string }>(
      `SELECT m.person_ref FROM ${this.schema}.match_keys m JOIN ${this.schema}.people p USING (person_ref)
        WHERE m.match_key = $1 AND p.erased_at IS NULL ORDER BY m.person_ref`,
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
