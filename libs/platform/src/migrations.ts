import { AsyncLocalStorage } from 'node:async_hooks';
import { Pool } from 'pg';
import { checkSchemaName } from './database';

/** Where one component's schema stands against the code that would migrate it. */
export interface MigrationStatus {
  schema: string;
  component: string;
  /** The version applied (0: none; the schema may not exist yet). */
  applied: number;
  /** The version this code brings it to. */
  latest: number;
  appliedAt: Date | null;
  state: 'up to date' | 'behind' | 'newer than this code';
}

/** Thrown at start when a schema was migrated by a newer version of the platform than the one starting. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly schema: string,
    readonly component: string,
    readonly applied: number,
    readonly latest: number,
  ) {
    super(
      `${component} in schema ${schema} is at version ${applied}, newer than this code knows (${latest}): ` +
        'it was migrated by a newer version of the platform. Run that version (or newer), or restore the ' +
        'database from a backup taken before the upgrade; this version will not start against it.',
    );
    this.name = 'SchemaTooNewError';
  }
}

/** While set, migrate() records where each schema stands and changes nothing (`hls-consortium migrate --status`). */
const planning = new AsyncLocalStorage<MigrationStatus[]>();

/**
 * Runs `open` (anything that opens components, which migrate their schemas as they open) with migrations
 * only looked at, not applied; answers where each schema stands.
 */
export async function planMigrations(open: () => Promise<unknown>): Promise<MigrationStatus[]> {
  const found: MigrationStatus[] = [];
  await planning.run(found, open);
  return found;
}

async function statusOf(
  pool: Pool,
  schema: string,
  component: string,
  latest: number,
): Promise<MigrationStatus> {
  const { rows } = await pool.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [
    `${schema}.schema_migrations`,
  ]);
  let applied = 0;
  let appliedAt: Date | null = null;
  if (rows[0].present) {
    const r = await pool.query(
      `SELECT coalesce(max(version), 0) AS v, max(applied_at) AS at FROM ${schema}.schema_migrations WHERE component = $1`,
      [component],
    );
    applied = Number(r.rows[0].v);
    appliedAt = r.rows[0].at;
  }
  const state = applied === latest ? 'up to date' : applied < latest ? 'behind' : 'newer than this code';
  return { schema, component, applied, latest, appliedAt, state };
}

/**
 * Versioned schema changes, applied once each, in order, under an advisory lock so that several instances
 * starting together do not race. Each step is SQL in which `{schema}` stands for the component's schema.
 */
export async function migrate(pool: Pool, schema: string, component: string, steps: string[]): Promise<void> {
  checkSchemaName(schema);
  const plan = planning.getStore();
  if (plan) {
    plan.push(await statusOf(pool, schema, component, steps.length));
    return;
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${schema}.${component}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
         component text NOT NULL, version int NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (component, version))`,
    );
    const { rows } = await client.query(
      `SELECT coalesce(max(version), 0) AS v FROM ${schema}.schema_migrations WHERE component = $1`,
      [component],
    );
    const current = Number(rows[0].v);
    if (current > steps.length) throw new SchemaTooNewError(schema, component, current, steps.length);
    for (let v = current + 1; v <= steps.length; v++) {
      await client.query(steps[v - 1].replaceAll('{schema}', schema));
      await client.query(`INSERT INTO ${schema}.schema_migrations (component, version) VALUES ($1, $2)`, [
        component,
        v,
      ]);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
