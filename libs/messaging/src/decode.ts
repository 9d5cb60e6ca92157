import { Logger } from '@nestjs/common';
import { CloudEvent, envelopeProblem } from './cloud-event';

const log = new Logger('dead-letters');

import { BatchHandler, DeadLetter, Delivery, Rejection } from './message-bus.port';

export interface RawMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  payload: string;
}

/** Decodes raw messages; those that are not our envelope are rejected with the reason, never dropped. */
export function decode(raw: RawMessage[]): { deliveries: Delivery[]; rejections: Rejection[] } {
  const deliveries: Delivery[] = [];
  const rejections: Rejection[] = [];
  for (const m of raw) {
    let value: unknown;
    try {
      value = JSON.parse(m.payload);
    } catch {
      rejections.push({ delivery: asDelivery(m, null), reason: 'the message is not valid JSON' });
      continue;
    }
    const problem = envelopeProblem(value);
    if (problem)
      rejections.push({ delivery: asDelivery(m, null), reason: `not a platform CloudEvent: ${problem}` });
    else deliveries.push(asDelivery(m, value as CloudEvent));
  }
  return { deliveries, rejections };
}

// A rejected raw message keeps its payload for the dead letter; its event is left empty.
const payloads = new WeakMap<Delivery, string>();

function asDelivery(m: RawMessage, event: CloudEvent | null): Delivery {
  const d: Delivery = {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key: m.key,
    event: event as CloudEvent,
  };
  payloads.set(d, m.payload);
  return d;
}

export function deadLetterOf(r: Rejection, groupId: string, at: Date): DeadLetter {
  return {
    reason: r.reason,
    groupId,
    topic: r.delivery.topic,
    partition: r.delivery.partition,
    offset: r.delivery.offset,
    key: r.delivery.key,
    payload: payloads.get(r.delivery) ?? JSON.stringify(r.delivery.event),
    at: at.toISOString(),
  };
}

/** Kafka's default partitioner is murmur2; in process a simple stable hash keeps a key on one partition. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return Math.abs(h) % partitions;
}

type DeadLetterWatcher = (letters: DeadLetter[]) => void;
const watchers = new Set<DeadLetterWatcher>();

/** Tells a watcher (a service's metrics) of every dead letter a consumer in this process sends; returns how to stop. */
export function watchDeadLetters(watcher: DeadLetterWatcher): () => void {
  watchers.add(watcher);
  return () => watchers.delete(watcher);
}

/**
 * One partition's raw batch through a consumer: decode, hand over, and return the dead letters to send.
 * Both buses consume through this, so poison handling is the same on Kafka and in process.
 */
export async function consumeBatch(
  raw: RawMessage[],
  groupId: string,
  handler: BatchHandler,
): Promise<DeadLetter[]> {
  const { deliveries, rejections } = decode(raw);
  if (deliveries.length) rejections.push(...((await handler(deliveries)) ?? []));
  const now = new Date();
  const letters = rejections.map((r) => deadLetterOf(r, groupId, now));
  // An operator must see a dead letter at once, not only when they look for one.
  for (const l of letters)
    log.warn(`dead letter from ${l.topic}[${l.partition}]@${l.offset} for ${groupId}: ${l.reason}`);
  if (letters.length) for (const w of watchers) w(letters);
  return letters;
}

export function parseDeadLetters(raw: RawMessage[]): DeadLetter[] {
  return raw.flatMap((m) => {
    try {
      return [JSON.parse(m.payload) as DeadLetter];
    } catch {
      return [];
    }
  });
}
