import { checkpointOf, LogCheckpoint, PostgresEventStore } from '@app/event-store';
import { toCloudEvent, topicFor } from '@app/messaging';
import { createPool } from '@app/platform';
import { Command } from 'commander';
import { progressBar } from '../progress';
import { OperatorError, OpsContext } from '../settings';
import { Act, nonNegativeInt, positiveInt } from './act';

/**
 * `republish`: a partner's log from a position published to Kafka again, directly. The relay's checkpoint is
 * left alone (a running relay keeps it in memory and would write it back): publishing a range beside it is
 * safe while everything runs, because every consumer dedupes by event id.
 */
export function republishCommand(act: Act): Command {
  return new Command('republish')
    .summary("publish a partner's log to Kafka again from a position")
    .description(
      "Reads the partner's event store from a position (in commit-safe log order) and publishes each event to its " +
        'topic as the relay does (same CloudEvent, same key, so the same partition). Consumers that had an event ' +
        'skip it (they dedupe by event id); those that lost it (a Kafka cluster lost, a topic emptied by ' +
        "retention) take it. Safe while the services run: the relay's checkpoint is not touched.",
    )
    .requiredOption('--partner <id>', 'the partner whose log to publish')
    .requiredOption(
      '--from <position>',
      'the first position to publish (1 for the whole log)',
      nonNegativeInt,
    )
    .option('--to <position>', 'the last position to publish (default: the end of the log)', nonNegativeInt)
    .option('--batch-size <events>', 'events per read and per send', positiveInt, 500)
    .action(act(republish));
}

async function republish(
  ctx: OpsContext,
  flags: { partner: string; from: number; to?: number; batchSize: number },
): Promise<number> {
  const partner = ctx.partner(flags.partner);
  const schema = ctx.partnerSchema(partner);
  const pool = createPool(await ctx.partnerDatabaseUrl(partner), 3);
  ctx.onClose(() => pool.end());
  const { rows: present } = await pool.query('SELECT to_regclass($1) IS NOT NULL AS present', [
    `${schema}.events`,
  ]);
  if (!present[0].present)
    throw new OperatorError(`${partner}'s event store is not in schema ${schema} of its database`);
  const to = flags.to ?? Number.MAX_SAFE_INTEGER;
  if (to < flags.from) throw new OperatorError(`--to ${to} is before --from ${flags.from}`);
  const { rows } = await pool.query(
    `SELECT min(transaction_id)::text AS t, count(*)::bigint AS n FROM ${schema}.events WHERE position BETWEEN $1 AND $2`,
    [flags.from, to],
  );
  const total = Number(rows[0].n);
  if (total === 0) {
    ctx.io.out(
      `${partner}'s log has no event from position ${flags.from}${flags.to ? ` to ${flags.to}` : ''}`,
    );
    return 0;
  }
  // Every event at or after `from` was written by this transaction or a later one: the log is read from there,
  // and what comes before `from` (written earlier, committed later) is left out.
  let at: LogCheckpoint = { transactionId: rows[0].t, position: 0 };
  const store = await PostgresEventStore.open({ pool, schema });
  const bus = ctx.bus();
  const bar = progressBar(ctx.io, `republish ${partner}`, total);
  let published = 0;
  let last = 0;
  try {
    for (;;) {
      const batch = await store.readLog(at, flags.batchSize);
      if (batch.length === 0) break;
      at = checkpointOf(batch[batch.length - 1]);
      const chosen = batch.filter((e) => e.position >= flags.from && e.position <= to);
      if (chosen.length)
        await bus.publish(
          chosen.map((e) => ({
            topic: topicFor(ctx.consortium.id, e.metadata.scale),
            key: e.metadata.subject,
            event: toCloudEvent(ctx.consortium.id, e),
          })),
        );
      published += chosen.length;
      last = Math.max(last, ...chosen.map((e) => e.position));
      bar.update(published, total);
      if (published >= total) break;
    }
  } finally {
    bar.stop();
  }
  ctx.io.out(
    `published ${published.toLocaleString('en-GB')} of ${partner}'s events (positions ${flags.from} to ${last}) ` +
      `to ${ctx.consortium.id}'s topics`,
  );
  if (published < total)
    ctx.io.out(
      `${total - published} events in the range are not yet safe to read (a transaction still writing): the relay will publish them`,
    );
  return 0;
}
