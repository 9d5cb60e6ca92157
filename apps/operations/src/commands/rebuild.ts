import { PostgresEventStore } from '@app/event-store';
import { createPool } from '@app/platform';
import { Command } from 'commander';
import {
  nextSchemaOf,
  RebuildError,
  RebuildSource,
  rebuildProjection,
} from '../../../projection-service/src/rebuild/blue-green';
import { progressBar } from '../progress';
import { OperatorError, OpsContext } from '../settings';
import { Act, positiveInt } from './act';

/** `rebuild`: a new generation of the read models built beside the live one and switched to when caught up. */
export function rebuildCommand(act: Act): Command {
  return new Command('rebuild')
    .summary('rebuild the projection blue-green, while the projection service keeps serving')
    .description(
      "Blue-green: builds a new generation of the read models in <projection schema>_next from every partner's event store " +
        '(the record), while the projection service keeps serving and projecting the live one. When the new ' +
        'generation has caught up, one transaction pauses the live projector, applies the last events, moves ' +
        'the tables that are not derived from events (the journey-read audit, webhooks) across and swaps the ' +
        'schemas. Queries see the old view or the new one, never a half-built one.',
    )
    .option('--batch-size <events>', 'events per page read and per batch applied', positiveInt, 5000)
    .option('--keep-old', 'keep the old generation as <projection schema>_retired instead of dropping it')
    .option('--json', 'print the result as JSON')
    .action(act(rebuild));
}

async function rebuild(ctx: OpsContext, opts: { batchSize: number; keepOld?: boolean; json?: boolean }) {
  const databaseUrl = await ctx.databaseUrl();
  const sources: RebuildSource[] = [];
  for (const { id } of ctx.consortium.partners) {
    const url = await ctx.partnerDatabaseUrl(id);
    const schema = ctx.partnerSchema(id);
    const pool = createPool(url, 3);
    ctx.onClose(() => pool.end());
    const { rows } = await pool.query('SELECT to_regclass($1) IS NOT NULL AS present', [`${schema}.events`]);
    if (!rows[0].present)
      throw new OperatorError(
        `${id}'s event store is not in schema ${schema} of its database: check HLS_SCHEMA_PREFIX, DATABASE_URL ` +
          'and PARTNER_DATABASE_URLS',
      );
    const store = await PostgresEventStore.open({ pool, schema });
    sources.push({
      partner: id,
      store,
      count: async () => Number((await pool.query(`SELECT count(*) AS n FROM ${schema}.events`)).rows[0].n),
    });
  }
  const bar = progressBar(ctx.io, `rebuild ${ctx.projectionSchema}`, 0);
  let result: Awaited<ReturnType<typeof rebuildProjection>>;
  try {
    result = await rebuildProjection({
      databaseUrl,
      schema: ctx.projectionSchema,
      consortiumId: ctx.consortium.id,
      sources,
      batchSize: opts.batchSize,
      keepOld: opts.keepOld,
      onProgress: (p) => bar.update(p.applied, p.total, p.phase),
    });
  } catch (e) {
    if (e instanceof RebuildError) throw new OperatorError(e.message);
    throw e;
  } finally {
    bar.stop();
  }
  if (opts.json) {
    ctx.io.out(JSON.stringify(result, null, 2));
    return 0;
  }
  ctx.io.out(
    `rebuilt ${ctx.projectionSchema}: ${result.events.toLocaleString('en-GB')} events in ${result.seconds.toFixed(1)} s ` +
      `(${Math.round(result.eventsPerSecond).toLocaleString('en-GB')} events/s), built in ${nextSchemaOf(ctx.projectionSchema)} ` +
      `and switched to with the live projector paused for ${Math.round(result.pausedMs)} ms`,
  );
  if (result.retiredSchema) ctx.io.out(`the old generation is kept in ${result.retiredSchema}`);
  for (const r of result.rejected)
    ctx.io.out(`not applied: ${r.partner} position ${r.position} (event ${r.eventId}): ${r.reason}`);
  return 0;
}
