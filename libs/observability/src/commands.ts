import { commandProblems, WrongExpectedVersionError } from '@app/event-store';
import { Problem } from '@app/platform';
import { PersonErasedError, RetentionEndedError, UnknownPersonError } from '@app/privacy';
import { SpanKind } from '@opentelemetry/api';
import { ServiceObservability } from './observability';
import { inSpan } from './tracing';

export type CommandOutcome = 'done' | 'refused' | 'conflict' | 'failed';

/** How a command ended, as its HTTP answer would say: refused (4xx), conflict (409), failed (5xx). */
export function outcomeOf(e: unknown): { outcome: CommandOutcome; cause?: 'concurrent-change' | 'refused' } {
  if (e instanceof WrongExpectedVersionError) return { outcome: 'conflict', cause: 'concurrent-change' };
  const status =
    e instanceof Problem
      ? e.status
      : (commandProblems(e)?.status ??
        (e instanceof RetentionEndedError
          ? 409
          : e instanceof PersonErasedError || e instanceof UnknownPersonError
            ? 400
            : 500));
  if (status === 409) return { outcome: 'conflict', cause: 'refused' };
  return { outcome: status < 500 ? 'refused' : 'failed' };
}

/**
 * Counts and traces every command through a CQRS command bus: a span named for the command (a child of the
 * request's, the parent of its appends), `hls_commands_total` by outcome, `hls_conflicts_total` for each 409.
 */
export function observeCommands(
  obs: ServiceObservability,
  bus: { execute(command: object): Promise<unknown> },
): void {
  const execute = bus.execute.bind(bus);
  bus.execute = (command: object) => {
    const name = command.constructor?.name ?? 'Command';
    return inSpan(obs.tracer, `command ${name}`, { kind: SpanKind.INTERNAL }, async (span) => {
      try {
        const result = await execute(command);
        obs.metrics.commands.inc({ command: name, outcome: 'done' });
        return result;
      } catch (e) {
        const { outcome, cause } = outcomeOf(e);
        obs.metrics.commands.inc({ command: name, outcome });
        if (cause) obs.metrics.conflicts.inc({ command: name, cause });
        span.setAttribute('hls.outcome', outcome);
        throw e;
      }
    });
  };
}
