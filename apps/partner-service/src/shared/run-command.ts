import { randomUUID } from 'node:crypto';
import { Decider, EVENT_SCHEMA_VERSIONS, fold, PlatformEvent } from '@app/domain';
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
  const { state, version: current } = await load(runtime, decider, streamId);
  const events = decider.decide(command, state);
  // Nothing more is recorded about a person who was erased at their request.
  const recordsMore = events.some((e) => e.type !== 'PersonErased'); // recording the erasure itself is allowed
  if (decider.scale === 'person' && recordsMore && (await runtime.keys.isErased(subject))) {
    throw new PersonErasedError(subject);
  }
  if (events.length === 0) return { events, version: current };
  const occurredAt = runtime.clock.now().toISOString();
  const { version } = await runtime.store.append(
    streamId,
    current === -1 ? 'no_stream' : current,
    events.map((e) => ({
      id: randomUUID(),
      type: e.type,
      schemaVersion: EVENT_SCHEMA_VERSIONS[e.type],
      data: e.data,
      metadata: {
        partner: runtime.partnerId,
        scale: decider.scaleOf?.(e) ?? decider.scale,
        actor: ctx.actor.userId,
        correlationId: ctx.correlationId,
        ...(ctx.causationId ? { causationId: ctx.causationId } : {}),
        subject,
        occurredAt,
      },
    })),
  );
  runtime.appended();
  return { events, version };
}

/** A stream's current state and version (-1 for none), folded from its events. */
async function load<E extends PlatformEvent, S>(
  runtime: PartnerRuntime,
  decider: Pick<Decider<never, E, S>, 'evolve' | 'initialState'>,
  streamId: string,
): Promise<{ state: S; version: number }> {
  const history = await runtime.store.readStream(streamId);
  const state = fold(
    decider,
    history.map((e) => ({ type: e.type, data: e.data }) as E),
  );
  return { state, version: history.length ? history[history.length - 1].version : -1 };
}

/** A stream's current state, for a handler that must look before it decides what to run. */
export async function loadState<E extends PlatformEvent, S>(
  runtime: PartnerRuntime,
  decider: Pick<Decider<never, E, S>, 'evolve' | 'initialState'>,
  streamId: string,
): Promise<S> {
  return (await load(runtime, decider, streamId)).state;
}
