import { DeadLetter, DeadLetterFilter, listDeadLetters, replayDeadLetters } from '@app/messaging';
import { Command, InvalidArgumentError } from 'commander';
import { OpsContext } from '../settings';
import { Act } from './act';

interface FilterFlags {
  group?: string;
  topic?: string;
  reason?: string;
  since?: Date;
  json?: boolean;
}

/** `dead-letters list|replay`: what consumers could not handle, and putting it back once the cause is mended. */
export function deadLettersCommand(act: Act): Command {
  const withFilters = (c: Command) =>
    c
      .option('--group <consumer group>', 'only those a consumer group could not handle')
      .option('--topic <topic>', 'only those from this topic')
      .option('--reason <text>', 'only those whose reason contains this text')
      .option('--since <time>', 'only those dead-lettered at or after this time (ISO 8601)', isoTime)
      .option('--json', 'print them as JSON');
  const command = new Command('dead-letters')
    .summary('list and replay dead letters')
    .description(
      `Dead letters are on the Kafka topic <consortium id>.dead-letters, each with the reason, the consumer group, ` +
        'where the message came from and the message as it arrived. Needs KAFKA_BROKERS.',
    );
  command.addCommand(
    withFilters(
      new Command('list').description('list the dead letters (with filters, those that match)'),
    ).action(act(list)),
  );
  command.addCommand(
    withFilters(
      new Command('replay').description(
        'put the dead letters that match back on the topics they came from, as they arrived (same key, same ' +
          'payload), once the cause is mended. Consumers skip what they had already taken (they dedupe by event ' +
          'id); one that still cannot handle a message dead-letters it again. The dead letters stay on their ' +
          'topic. Without a filter, every dead letter is replayed: give --all to mean it.',
      ),
    )
      .option('--all', 'replay every dead letter (needed when no filter is given)')
      .action(act(replay)),
  );
  return command;
}

function isoTime(value: string): Date {
  const t = new Date(value);
  if (Number.isNaN(t.getTime()))
    throw new InvalidArgumentError('a time such as 2026-11-26T09:00:00Z is needed');
  return t;
}

function filterOf(f: FilterFlags): DeadLetterFilter {
  return { groupId: f.group, topic: f.topic, reason: f.reason, since: f.since };
}

const line = (l: DeadLetter) =>
  `${l.at}  ${l.topic}[${l.partition}]@${l.offset}  group ${l.groupId}  key ${l.key}\n    ${l.reason}`;

async function list(ctx: OpsContext, flags: FilterFlags): Promise<number> {
  const letters = await listDeadLetters(ctx.bus(), filterOf(flags));
  if (flags.json) ctx.io.out(JSON.stringify(letters, null, 2));
  else {
    for (const l of letters) ctx.io.out(line(l));
    ctx.io.out(`${letters.length} dead letter${letters.length === 1 ? '' : 's'}`);
  }
  return 0;
}

async function replay(ctx: OpsContext, flags: FilterFlags & { all?: boolean }): Promise<number> {
  const filter = filterOf(flags);
  if (!flags.all && Object.values(filter).every((v) => v === undefined)) {
    ctx.io.err(
      'replay: give a filter (--group, --topic, --reason, --since), or --all to replay every dead letter',
    );
    return 2;
  }
  const letters = await replayDeadLetters(ctx.bus(), filter);
  const messages = new Set(letters.map((l) => `${l.topic}/${l.partition}/${l.offset}`)).size;
  if (flags.json) ctx.io.out(JSON.stringify({ replayed: messages, deadLetters: letters }, null, 2));
  else {
    for (const l of letters) ctx.io.out(line(l));
    ctx.io.out(
      `replayed ${messages} message${messages === 1 ? '' : 's'} (${letters.length} dead letters matched)`,
    );
  }
  return 0;
}
