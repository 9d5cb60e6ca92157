import { Pool } from 'pg';
import { checkSchemaName } from './database';

/**
 * Versioned schema changes, applied once each, in order, under an advisory lock so that several instances
 * starting together do not race. Each step is SQL in which `{schema}` stands for the component's schema.
 */
export async function migrate(pool: Pool, schema: string, component: string, steps: string[]): Promise<void> {
  checkSchemaName(schema);
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
    if (current > steps.length) {
      throw new Error(
        `${component} in schema ${schema} is at version ${current}, newer than this code knows (${steps.length})`,
      );
    }
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
