import { Decider, EVENT_SCHEMA_VERSIONS, PlatformEvent } from '@app/domain';
import { decideAndAppend, loadStream } from '@app/event-store';
import { Actor } from '@app/platform';
import { PersonErasedError } from '@app/privacy';
import { PartnerRuntime } from './partner-runtime';

/** Who asked, and the thread of cause that runs from the HTTP request through the event and Kafka. */
export interface CommandContext {
  actor: Actor;
  correlationId: string;
  causationId?: string;
}

/**
 * Load, decide, append: the stream's events are folded into state, the pure decider is asked, and what it
 * returns is appended at the version that was read. A concurrent change in between makes the append fail
 * with WrongExpectedVersionError (409): the loser reloads; no update is lost.
 */
export async function runCommand<C, E extends PlatformEvent, S>(
  runtime: PartnerRuntime,
  decider: Decider<C, E, S>,
  streamId: string,
  /** What the events are about: the Kafka key, so one person's events stay in order. */
  subject: string,
  command: C,
  ctx: CommandContext,
): Promise<{ events: E[]; version: number }> {
  const occurredAt = runtime.clock.now().toISOString();
  // Asked beside the stream's read, not after it: one round trip fewer on every command about a person.
  const erased = decider.scale === 'person' ? runtime.keys.isErased(subject) : Promise.resolve(false);
  erased.catch(() => undefined);
  const result = await decideAndAppend(runtime.store, decider, streamId, command, {
    schemaVersion: (type) => EVENT_SCHEMA_VERSIONS[type],
    metadata: (e) => ({
      partner: runtime.partnerId,
      scale: decider.scaleOf?.(e) ?? decider.scale,
      actor: ctx.actor.userId,
      correlationId: ctx.correlationId,
      ...(ctx.causationId ? { causationId: ctx.causationId } : {}),
      subject,
      occurredAt,
    }),
    // Nothing more is recorded about a person who was erased at their request (recording the erasure is).
    async check(events) {
      const recordsMore = events.some((e) => e.type !== 'PersonErased');
      if (recordsMore && (await erased)) {
        throw new PersonErasedError(subject);
      }
    },
  });
  if (result.events.length) runtime.appended();
  return result;
}

/** A stream's current state, for a handler that must look before it decides what to run. */
export async function loadState<E extends PlatformEvent, S>(
  runtime: PartnerRuntime,
  decider: Pick<Decider<never, E, S>, 'evolve' | 'initialState'>,
  streamId: string,
): Promise<S> {
  return (await loadStream(runtime.store, decider, streamId)).state;
}
