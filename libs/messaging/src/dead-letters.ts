import { DeadLetter, MessageBus } from './message-bus.port';

/** Which dead letters to list or replay; every field given must match. */
export interface DeadLetterFilter {
  /** The consumer group that could not handle the message. */
  groupId?: string;
  /** The topic the message came from. */
  topic?: string;
  /** The reason it was dead-lettered: a pattern, or text it contains. */
  reason?: RegExp | string;
  /** Dead-lettered at or after this moment. */
  since?: Date;
}

/** Whether a dead letter is one the filter chooses. */
export function deadLetterMatches(l: DeadLetter, f: DeadLetterFilter): boolean {
  if (f.groupId !== undefined && l.groupId !== f.groupId) return false;
  if (f.topic !== undefined && l.topic !== f.topic) return false;
  if (f.since && Date.parse(l.at) < f.since.getTime()) return false;
  if (f.reason instanceof RegExp) return f.reason.test(l.reason);
  return f.reason === undefined || l.reason.includes(f.reason);
}

/** The dead letters now on the dead-letter topic, with why and where each came from. */
export async function listDeadLetters(bus: MessageBus, filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
  return (await bus.readDeadLetters()).filter((l) => deadLetterMatches(l, filter));
}

/**
 * After a fix, puts the dead letters that match back on the topics they came from, as they arrived (same
 * key, so same partition; same payload). Every consumer of those topics sees them again: consumers are
 * idempotent by event id, so those that had taken them lose nothing. A message that still cannot be handled
 * is dead-lettered again. The dead letters stay where they are; answers those that matched.
 */
export async function replayDeadLetters(
  bus: MessageBus,
  filter: DeadLetterFilter = {},
): Promise<DeadLetter[]> {
  const letters = await listDeadLetters(bus, filter);
  // A message several groups could not take is one message: it goes back once.
  const once = new Map(letters.map((l) => [`${l.topic}/${l.partition}/${l.offset}`, l]));
  if (once.size)
    await bus.publishRaw([...once.values()].map((l) => ({ topic: l.topic, key: l.key, payload: l.payload })));
  return letters;
}
