import { randomUUID } from 'node:crypto';
import { EventMetadata, EventStore } from './event-store.port';

/** What the store needs of an aggregate's pure logic (a domain `Decider`, structurally). */
export interface StreamDecider<C, E extends { type: string; data: unknown }, S> {
  initialState: S;
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
}

/** A stream's current state and version (-1 for none), folded from its events. */
export async function loadStream<E extends { type: string; data: unknown }, S>(
  store: EventStore,
  decider: Pick<StreamDecider<never, E, S>, 'evolve' | 'initialState'>,
  streamId: string,
): Promise<{ state: S; version: number }> {
  const history = await store.readStream(streamId);
  const state = history.reduce(
    (s, e) => decider.evolve(s, { type: e.type, data: e.data } as E),
    decider.initialState,
  );
  return { state, version: history.length ? history[history.length - 1].version : -1 };
}

/**
 * Load, decide, append: the stream's events are folded into state, the pure decider is asked, and what it
 * returns is appended at the version that was read. A concurrent change in between makes the append fail
 * with WrongExpectedVersionError (409): the loser reloads; no update is lost. `check` runs between deciding and
 * appending, for rules that need I/O (it may throw).
 */
export async function decideAndAppend<C, E extends { type: string; data: unknown }, S>(
  store: EventStore,
  decider: StreamDecider<C, E, S>,
  streamId: string,
  command: C,
  describe: {
    schemaVersion(type: E['type']): number;
    metadata(event: E): EventMetadata;
    check?(events: E[]): Promise<void>;
  },
): Promise<{ events: E[]; version: number }> {
  const { state, version: current } = await loadStream(store, decider, streamId);
  const events = decider.decide(command, state);
  await describe.check?.(events);
  if (events.length === 0) return { events, version: current };
  const { version } = await store.append(
    streamId,
    current === -1 ? 'no_stream' : current,
    events.map((e) => ({
      id: randomUUID(),
      type: e.type,
      schemaVersion: describe.schemaVersion(e.type),
      data: e.data,
      metadata: describe.metadata(e),
    })),
  );
  return { events, version };
}
