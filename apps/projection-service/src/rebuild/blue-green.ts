import { checkpointOf, EventStore, LOG_START, LogCheckpoint, RecordedEvent } from '@app/event-store';
import { Delivery, toCloudEvent, topicFor } from '@app/messaging';
import { checkSchemaName, createPool, migrate, sharesOneSession } from '@app/platform';
import { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { activityFromJourney } from '../place/place-activity';
import { project } from '../shared/projector';
import { DERIVED_TABLES, PROJECTION_MIGRATIONS, READ_MODELS } from '../shared/read-models';

/**
 * Blue-green rebuild of the projection. The new generation of the read models is built beside the live one,
 * in `<schema>_next`, straight from the partners' event stores (the record: Kafka may no longer hold the first
 * events). The live projection service keeps serving and projecting from `<schema>` all the while. When the new
 * generation has caught up, one transaction pauses the live projector (it locks the live processed_events,
 * which every projector batch writes first), applies the last events, moves the tables that are not derived
 * from events (the journey-read audit, webhooks, the generation, the migrations) into the new generation and
 * swaps the schemas by renaming them. Queries see the old view or the new one, never a half-built one. The
 * paused batch then resolves `<schema>` afresh: it writes into the new generation, where the events it carries
 * are either there already (skipped as redeliveries) or new. The consumer group does not change, so its
 * offsets stay right.
 */

/** A partner's log, read from the beginning in commit-safe order. */
export interface RebuildSource {
  partner: string;
  store: Pick<EventStore, 'readLog'>;
  /** How many events the log holds, for the progress bar only. */
  count?: () => Promise<number>;
}

export type RebuildPhase = 'load' | 'indexes' | 'catch-up' | 'switch' | 'done';

export interface RebuildProgress {
  phase: RebuildPhase;
  /** Events applied to the new generation so far. */
  applied: number;
  /** Events in the partners' logs when the build started (the bar's length; more may arrive). */
  total: number;
}

export interface RebuildOptions {
  /** The projection's database. */
  databaseUrl: string;
  /** The live schema, e.g. `projection`. */
  schema: string;
  consortiumId: string;
  sources: RebuildSource[];
  /** Events per page read and per projector batch; default 5,000. */
  batchSize?: number;
  /** Keep the old generation as `<schema>_retired` instead of dropping it after the switch. */
  keepOld?: boolean;
  /** Called after every batch and at each phase; the build waits for it. */
  onProgress?: (p: RebuildProgress) => void | Promise<void>;
  /** How long the switch may wait for the live projector's batch in flight (default 60 s). */
  lockTimeoutMs?: number;
}

export interface RebuildResult {
  events: number;
  /** Events the projector would not take (unknown types or bad data), as the live one dead-letters them. */
  rejected: { eventId: string; partner: string; position: number; reason: string }[];
  seconds: number;
  eventsPerSecond: number;
  /** How long the live projector was paused for the last events and the switch. */
  pausedMs: number;
  retiredSchema: string | null;
}

export class RebuildError extends Error {}

export const nextSchemaOf = (schema: string) => `${schema}_next`;
export const retiredSchemaOf = (schema: string) => `${schema}_retired`;

export async function rebuildProjection(o: RebuildOptions): Promise<RebuildResult> {
  const schema = checkSchemaName(o.schema);
  const next = checkSchemaName(nextSchemaOf(schema));
  const pool = createPool(o.databaseUrl, 3);
  const lock = await pool.connect();
  try {
    const [{ ok }] = (
      await lock.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`${schema}.rebuild`])
    ).rows;
    if (!ok) throw new RebuildError(`a rebuild of ${schema} is already running`);
    await checkLiveSchema(pool, schema);
    const builder = await GenerationBuilder.create(o, next);
    try {
      const started = performance.now();
      await builder.prepareForLoad();
      await builder.catchUp('load');
      await builder.finishLoad();
      // Catch up until a pass finds little: what arrived while the indexes were made, and so on.
      while ((await builder.catchUp('catch-up')) > builder.batchSize);
      const pausedMs = await switchGenerations(pool, schema, next, builder, o.lockTimeoutMs ?? 60_000);
      let retiredSchema: string | null = retiredSchemaOf(schema);
      if (!o.keepOld) {
        await pool.query(`DROP SCHEMA ${retiredSchema} CASCADE`);
        retiredSchema = null;
      }
      const seconds = (performance.now() - started) / 1000;
      await builder.report('done');
      return {
        events: builder.applied,
        rejected: builder.rejected,
        seconds,
        eventsPerSecond: builder.applied / seconds,
        pausedMs,
        retiredSchema,
      };
    } finally {
      await builder.close();
    }
  } finally {
    await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [`${schema}.rebuild`]).catch(() => undefined);
    lock.release();
    await pool.end();
  }
}

async function checkLiveSchema(pool: Pool, schema: string): Promise<void> {
  const { rows } = await pool.query(
    `SELECT max(version) AS v FROM ${schema}.schema_migrations WHERE component = 'projection'`,
  );
  const version = Number(rows[0]?.v ?? 0);
  if (version !== PROJECTION_MIGRATIONS.length)
    throw new RebuildError(
      `the projection in ${schema} is at version ${version} and this code builds version ${PROJECTION_MIGRATIONS.length}: ` +
        'run `hls-consortium migrate` (or start the projection service of this version) first',
    );
  const { rows: retired } = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
    retiredSchemaOf(schema),
  ]);
  if (retired.length)
    throw new RebuildError(
      `${retiredSchemaOf(schema)} is still there from an earlier rebuild kept with --keep-old: drop it first ` +
        `(DROP SCHEMA ${retiredSchemaOf(schema)} CASCADE)`,
    );
}

/** Tables the load only ever adds rows to, one per event: their primary keys are made after it, as the indexes. */
const LOADED_ONCE = ['processed_events', 'journey_entries', 'learning_records'];

/**
 * Builds one generation of the read models in its own schema, fast: the tables without their secondary indexes
 * while the bulk is loaded (no index upkeep per row), large batches, commits that do not wait for the disk; then
 * the indexes made once over the loaded rows. The load reads each partner's log once from its start, so every
 * event is new to the generation: it is marked processed without a look for redeliveries, and the tables written
 * once per event are loaded without their primary keys too. The place's activity is summed from the journey
 * entries once they are in, rather than added to batch by batch. (Unlogged tables were tried as well: logging
 * them again at the end rewrites every table into the write-ahead log, which cost more than it saved;
 * bench/log.bench.ts measures.)
 */
export class GenerationBuilder {
  applied = 0;
  total = 0;
  readonly rejected: RebuildResult['rejected'] = [];
  readonly batchSize: number;
  private readonly at = new Map<string, LogCheckpoint>();
  /** Per table, what prepareForLoad took away: its primary key and indexes to make again. */
  private readonly indexes = new Map<string, string[]>();
  /** Between prepareForLoad and finishLoad: the bulk, read once from the start of every log. */
  private loading = false;

  private constructor(
    private readonly o: Pick<RebuildOptions, 'consortiumId' | 'sources' | 'onProgress' | 'databaseUrl'> & {
      batchSize?: number;
    },
    readonly schema: string,
    readonly dataSource: DataSource,
    private readonly pool: Pool,
  ) {
    this.batchSize = o.batchSize ?? 5000;
    for (const s of o.sources) this.at.set(s.partner, LOG_START);
  }

  /** An empty generation in `schema` (anything there before is dropped), migrated like the live one. */
  static async create(
    o: Pick<RebuildOptions, 'consortiumId' | 'sources' | 'onProgress' | 'databaseUrl'> & {
      batchSize?: number;
    },
    schema: string,
  ): Promise<GenerationBuilder> {
    checkSchemaName(schema);
    const pool = createPool(o.databaseUrl, 2);
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await migrate(pool, schema, 'projection', PROJECTION_MIGRATIONS);
    const dataSource = await new DataSource({
      type: 'postgres',
      url: o.databaseUrl,
      schema,
      entities: READ_MODELS,
      synchronize: false,
      // A crash loses the last commits of a build that is started again anyway; the switch waits for the disk.
      extra: { max: 2, options: '-c synchronous_commit=off' },
    }).initialize();
    const builder = new GenerationBuilder(o, schema, dataSource, pool);
    // Counted once for the progress bar; the build reads to the end whatever the count.
    for (const s of o.sources) builder.total += (await s.count?.()) ?? 0;
    return builder;
  }

  /** The derived tables without their secondary indexes; the definitions kept to make them later. */
  async prepareForLoad(): Promise<void> {
    const { rows } = await this.pool.query<{ table: string; name: string; def: string }>(
      `SELECT i.tablename AS table, i.indexname AS name, i.indexdef AS def FROM pg_indexes i
        WHERE i.schemaname = $1 AND i.tablename = ANY($2)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                           WHERE n.nspname = $1 AND c.conname = i.indexname)`,
      [this.schema, DERIVED_TABLES],
    );
    const { rows: keys } = await this.pool.query<{ table: string; name: string; def: string }>(
      `SELECT t.relname AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS def
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = $1 AND t.relname = ANY($2) AND c.contype = 'p'`,
      [this.schema, LOADED_ONCE],
    );
    this.indexes.clear();
    const later = (table: string, def: string) =>
      this.indexes.set(table, [...(this.indexes.get(table) ?? []), def]);
    // Primary keys first: they check the load.
    for (const k of keys)
      later(k.table, `ALTER TABLE ${this.schema}.${k.table} ADD CONSTRAINT ${k.name} ${k.def}`);
    for (const r of rows) later(r.table, r.def);
    for (const { name } of rows) await this.pool.query(`DROP INDEX ${this.schema}.${name}`);
    for (const k of keys)
      await this.pool.query(`ALTER TABLE ${this.schema}.${k.table} DROP CONSTRAINT ${k.name}`);
    this.loading = true;
  }

  /**
   * The indexes made once over the loaded rows, and the planner told what the tables now hold: table by table,
   * two tables at a time (each table's work in order; the database does it while this process would only wait).
   */
  async finishLoad(): Promise<void> {
    await this.report('indexes');
    // Not the jsonb columns: the views reach into them by expressions, which their statistics do not help to
    // plan, and they are most of the time ANALYZE takes.
    const { rows: columns } = await this.pool.query<{ table: string; names: string[] }>(
      `SELECT table_name AS table, array_agg(column_name::text ORDER BY ordinal_position) AS names
         FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = ANY($2) AND data_type <> 'jsonb' GROUP BY 1`,
      [this.schema, DERIVED_TABLES],
    );
    const analyse = new Map(
      columns.map((t) => [t.table, `ANALYZE ${this.schema}.${t.table} (${t.names.join(', ')})`]),
    );
    const work = (table: string) => [
      ...(this.indexes.get(table) ?? []),
      ...(analyse.has(table) ? [analyse.get(table) as string] : []),
    ];
    // The place's activity is summed from the journey entries before their key is made (which locks them).
    const journey = this.loading
      ? [activityFromJourney(this.schema), analyse.get('place_activity') as string]
      : [];
    // The largest first, so that the two lanes end near together.
    const queue: string[][] = [
      [...journey, ...work('journey_entries')],
      work('processed_events'),
      ...DERIVED_TABLES.filter(
        (t) =>
          !['journey_entries', 'processed_events', ...(this.loading ? ['place_activity'] : [])].includes(t),
      ).map(work),
    ];
    const lane = async () => {
      for (let job = queue.shift(); job; job = queue.shift())
        for (const sql of job) await this.pool.query(sql);
    };
    // The embedded database serves one session: there the work goes one statement after another.
    await Promise.all(sharesOneSession(this.pool) ? [lane()] : [lane(), lane()]);
    this.indexes.clear();
    this.loading = false;
  }

  /** Applies everything each partner's log holds beyond where this generation has got; answers how many. */
  async catchUp(phase: RebuildPhase, limit = Number.POSITIVE_INFINITY): Promise<number> {
    let applied = 0;
    for (const { partner, store } of this.o.sources) {
      let at = this.at.get(partner) as LogCheckpoint;
      // The next page is read while this one is applied.
      let page = store.readLog(at, this.batchSize);
      while (applied < limit) {
        const events = await page;
        if (events.length === 0) break;
        at = checkpointOf(events[events.length - 1]);
        page = store.readLog(at, this.batchSize);
        page.catch(() => undefined);
        await this.apply(events);
        this.at.set(partner, at);
        applied += events.length;
        await this.report(phase);
      }
      await page.catch(() => undefined);
    }
    return applied;
  }

  private async apply(events: RecordedEvent[]): Promise<void> {
    const deliveries: Delivery[] = events.map((e, i) => ({
      topic: topicFor(this.o.consortiumId, e.metadata.scale),
      partition: 0,
      offset: String(this.applied + i),
      key: e.metadata.subject,
      event: toCloudEvent(this.o.consortiumId, e),
    }));
    const options = this.loading ? { allNew: true, activityLater: true } : {};
    for (const r of await project(this.dataSource, deliveries, options))
      this.rejected.push({
        eventId: r.delivery.event.id,
        partner: r.delivery.event.partner,
        position: r.delivery.event.position,
        reason: r.reason,
      });
    this.applied += events.length;
  }

  async report(phase: RebuildPhase): Promise<void> {
    await this.o.onProgress?.({
      phase,
      applied: this.applied,
      total: Math.max(this.total, this.applied),
    });
  }

  async close(): Promise<void> {
    await this.dataSource.destroy().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}

/**
 * The switch, in one transaction: the live projector paused by the lock on its processed_events, the last
 * events applied to the new generation, the tables that are not derived from events moved into it, and the
 * schemas renamed. Answers how long the live projector was held.
 */
async function switchGenerations(
  pool: Pool,
  schema: string,
  next: string,
  builder: GenerationBuilder,
  lockTimeoutMs: number,
): Promise<number> {
  // The embedded database runs one transaction at a time: a transaction held open here would stop the catch-up
  // on the builder's connections for good. Only one process can open it, so no live projector runs to be paused.
  const embedded = sharesOneSession(pool);
  if (embedded) while ((await builder.catchUp('switch')) > 0);
  const client: PoolClient = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = ${Math.round(lockTimeoutMs)}`);
    // EXCLUSIVE stops every projector batch (each writes here first) and lets reads go on. Not ACCESS EXCLUSIVE,
    // which takes a transaction id: until the last events are read this transaction must have none, or it would
    // hold back the partners' commit-safe logs (and every relay on the server) while it is open.
    const paused = performance.now();
    if (!embedded) {
      await client.query(`LOCK TABLE ${schema}.processed_events IN EXCLUSIVE MODE`);
      await builder.report('switch');
      while ((await builder.catchUp('switch')) > 0);
    }
    const { rows } = await client.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 AND NOT (tablename = ANY($2)) ORDER BY 1`,
      [schema, DERIVED_TABLES],
    );
    for (const { name } of rows) {
      await client.query(`DROP TABLE IF EXISTS ${next}.${name}`);
      await client.query(`ALTER TABLE ${schema}.${name} SET SCHEMA ${next}`);
    }
    await client.query(`ALTER SCHEMA ${schema} RENAME TO ${retiredSchemaOf(schema)}`);
    await client.query(`ALTER SCHEMA ${next} RENAME TO ${schema}`);
    await client.query('COMMIT');
    return performance.now() - paused;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
