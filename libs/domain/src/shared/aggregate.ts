/** An event as a decider returns it: its type and data. The handler adds id, version and metadata. */
export interface DomainEvent<T extends string = string, D = unknown> {
  type: T;
  data: D;
}

/**
 * One aggregate's logic as pure functions: `decide` turns a command and the current state into new events
 * (or throws a DomainError), `evolve` folds an event into the state. No clocks, no I/O: the time comes in
 * with the command.
 */
export interface Decider<C, E extends DomainEvent, S> {
  initialState: S;
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
  /** The scale at which this aggregate's events are recorded. */
  scale: 'person' | 'team' | 'organisation' | 'place';
  /** Where each event carries its own scale (a learning cycle runs at the scale it was convened at). */
  scaleOf?: (event: E) => 'person' | 'team' | 'organisation' | 'place';
}

export function fold<E extends DomainEvent, S>(
  decider: Pick<Decider<never, E, S>, 'evolve' | 'initialState'>,
  events: E[],
): S {
  return events.reduce(decider.evolve, decider.initialState);
}
