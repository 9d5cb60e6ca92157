/** The time comes in with each command, so that domain logic stays pure; this port is where it comes from. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
