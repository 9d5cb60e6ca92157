import { Decider, DomainError, DomainEvent, fold } from '../src';

/** given(events).when(command) → the new events, or the DomainError the decider refused with. */
export function given<C, E extends DomainEvent, S>(decider: Decider<C, E, S>, history: E[] = []) {
  return {
    when(command: C): E[] | DomainError {
      try {
        return decider.decide(command, fold(decider, history));
      } catch (e) {
        if (e instanceof DomainError) return e;
        throw e;
      }
    },
  };
}
