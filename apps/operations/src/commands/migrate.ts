import { PostgresEventStore } from '@app/event-store';
import { RelayCheckpoints } from '@app/messaging';
import { createPool, MigrationStatus, migrate, planMigrations } from '@app/platform';
import { PostgresKeyStore } from '@app/privacy';
import { Command } from 'commander';
import { PORTAL_MIGRATIONS } from '../../../portal/src/sign-in/migrations';
import { PROJECTION_MIGRATIONS } from '../../../projection-service/src/shared/read-models';
import { OpsContext } from '../settings';
import { Act } from './act';

/**
 * `migrate`: every schema of the consortium brought to this code's version, as the services do at start (each
 * component under its advisory lock, so running it beside starting services is safe); `--status` says where
 * each stands without changing anything. A schema newer than this code is never touched: the services of this
 * version refuse to start against it, and so does this command.
 */
export function migrateCommand(act: Act): Command {
  return new Command('migrate')
    .summary('apply schema migrations, or show where each schema stands (--status)')
    .description(
      "Brings every component's schema to this version: each partner's event store and relay checkpoints, the " +
        "key service, the projection, the evidence packs' store and the portal. Each component keeps its " +
        "versions in its schema's schema_migrations table. A schema migrated by a newer version stops it with " +
        'a message (exit status 2), as it stops the services from starting.',
    )
    .option('--status', "show each schema's version against this code's, and change nothing")
    .option('--json', 'print the status as JSON')
    .action(act(migrateAll));
}

async function migrateAll(ctx: OpsContext, flags: { status?: boolean; json?: boolean }): Promise<number> {
  const openAll = () => openEveryComponent(ctx);
  if (!flags.status) {
    await openAll();
    ctx.io.out('every schema is at this version:');
  }
  const status = await planMigrations(openAll);
  if (flags.json) ctx.io.out(JSON.stringify(status, null, 2));
  else ctx.io.out(table(status));
  const newer = status.filter((s) => s.state === 'newer than this code');
  if (newer.length)
    ctx.io.err(
      `${newer.map((s) => `${s.schema} (${s.component})`).join(', ')} ${newer.length === 1 ? 'was' : 'were'} migrated by ` +
        'a newer version of the platform: the services of this version will not start against it',
    );
  return newer.length ? 1 : 0;
}

/** Opens (so migrates, or in a plan looks at) every component's schema, then closes what it opened. */
async function openEveryComponent(ctx: OpsContext): Promise<void> {
  for (const { id } of ctx.consortium.partners) {
    const pool = createPool(await ctx.partnerDatabaseUrl(id), 1);
    try {
      const schema = ctx.partnerSchema(id);
      await PostgresEventStore.open({ pool, schema });
      await RelayCheckpoints.open(pool, schema);
    } finally {
      await pool.end();
    }
  }
  const keyPool = createPool(await ctx.keyServiceDatabaseUrl(), 1);
  try {
    await PostgresKeyStore.open({ pool: keyPool, schema: ctx.keyServiceSchema });
  } finally {
    await keyPool.end();
  }
  const pool = createPool(await ctx.databaseUrl(), 1);
  try {
    await migrate(pool, ctx.projectionSchema, 'projection', PROJECTION_MIGRATIONS);
    await PostgresEventStore.open({ pool, schema: ctx.evidenceSchema });
    await migrate(pool, ctx.portalSchema, 'portal', PORTAL_MIGRATIONS);
  } finally {
    await pool.end();
  }
}

function table(rows: MigrationStatus[]): string {
  const head = ['schema', 'component', 'applied', 'this code', 'state', 'last applied'];
  const body = rows.map((r) => [
    r.schema,
    r.component,
    String(r.applied),
    String(r.latest),
    r.state,
    r.appliedAt ? new Date(r.appliedAt).toISOString() : '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [head, ...body]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
