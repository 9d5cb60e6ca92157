import { randomUUID } from 'node:crypto';
import { asRecorded, Decider, PlatformEvent, Recording } from '@app/domain';
import { loadStream, WrongExpectedVersionError } from '@app/event-store';
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
 *
 * Commands on one stream run one after another in this service, and the state each leaves is kept (StreamStates),
 * so the next command on the stream decides without reading it again: a command costs the append and the
 * erasure check, not a read of the whole stream as well. A stream written elsewhere in the meantime (another
 * instance) makes the append at the remembered version fail; the command is then decided again on what the
 * store holds, as if it had come after that write, and only a change racing that second attempt is a 409.
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
  const recording: Recording = {
    partner: runtime.partnerId,
    actor: ctx.actor.userId,
    correlationId: ctx.correlationId,
    causationId: ctx.causationId,
    subject,
    occurredAt: runtime.clock.now().toISOString(),
  };
  // Asked beside the stream's read, not after it: one round trip fewer on every command about a person.
  const erased = decider.scale === 'person' ? runtime.keys.isErased(subject) : Promise.resolve(false);
  erased.catch(() => undefined);
  const states = statesOf<S>(runtime, decider);
  const result = await states.inTurn(streamId, async () => {
    let known = states.get(streamId);
    for (;;) {
      const { state, version } = known ?? (await loadStream(runtime.store, decider, streamId));
      const events = decider.decide(command, state);
      // Nothing more is recorded about a person who was erased at their request (recording the erasure is).
      if (events.some((e) => e.type !== 'PersonErased') && (await erased))
        throw new PersonErasedError(subject);
      if (events.length === 0) return { events, version };
      try {
        const appended = await runtime.store.append(
          streamId,
          version === -1 ? 'no_stream' : version,
          events.map((e) => asRecorded(decider, e, recording, randomUUID())),
        );
        states.set(
          streamId,
          events.reduce<S>((s, e) => decider.evolve(s, e), state),
          appended.version,
        );
        return { events, version: appended.version };
      } catch (e) {
        states.forget(streamId);
        if (known && e instanceof WrongExpectedVersionError) {
          known = undefined;
          continue;
        }
        throw e;
      }
    }
  });
  if (result.events.length) runtime.appended();
  return result;
}

/**
 * The state and version of the streams one decider's commands wrote lately in this service (the newest
 * STREAM_STATES), and the turn each stream's commands take.
 */
class StreamStates<S> {
  private readonly known = new Map<string, { state: S; version: number }>();
  private readonly turns = new Map<string, Promise<unknown>>();

  get(streamId: string): { state: S; version: number } | undefined {
    return this.known.get(streamId);
  }

  set(streamId: string, state: S, version: number): void {
    this.known.delete(streamId);
    this.known.set(streamId, { state, version });
    if (this.known.size > STREAM_STATES) this.known.delete(this.known.keys().next().value as string);
  }

  forget(streamId: string): void {
    this.known.delete(streamId);
  }

  /** Runs `work` once every command before it on the stream has finished, however it finished. */
  inTurn<T>(streamId: string, work: () => Promise<T>): Promise<T> {
    const run = (this.turns.get(streamId) ?? Promise.resolve()).then(work, work);
    const done = run.then(
      () => undefined,
      () => undefined,
    );
    this.turns.set(streamId, done);
    done.then(() => {
      if (this.turns.get(streamId) === done) this.turns.delete(streamId);
    });
    return run;
  }
}

const STREAM_STATES = 10_000;
const streamStates = new WeakMap<PartnerRuntime, WeakMap<object, StreamStates<unknown>>>();

function statesOf<S>(runtime: PartnerRuntime, decider: object): StreamStates<S> {
  const byDecider = streamStates.get(runtime) ?? new WeakMap<object, StreamStates<unknown>>();
  streamStates.set(runtime, byDecider);
  const states = byDecider.get(decider) ?? new StreamStates<unknown>();
  byDecider.set(decider, states);
  return states as StreamStates<S>;
}

/** A stream's current state, for a handler that must look before it decides what to run. */
export async function loadState<E extends PlatformEvent, S>(
  runtime: PartnerRuntime,
  decider: Pick<Decider<never, E, S>, 'evolve' | 'initialState'>,
  streamId: string,
): Promise<S> {
  return (await loadStream(runtime.store, decider, streamId)).state;
}
