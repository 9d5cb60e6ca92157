import { deadLetterTopic } from './cloud-event';
import { consumeBatch, parseDeadLetters, partitionOf, RawMessage } from './decode';
import {
  BatchHandler,
  DeadLetter,
  MessageBus,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
} from './message-bus.port';

const PARTITIONS = 4;

interface Group {
  groupId: string;
  topics: string[];
  take: (raw: RawMessage[]) => Promise<void>;
}

/**
 * The embedded default's stand-in for Kafka, behind the same port. Publishing hands each message to every
 * subscribed group and resolves only when they have taken it, so a relay that checkpoints after publish
 * never loses a message when the process stops. It keeps the log for subscribers that start from the beginning.
 */
export class InProcessBus implements MessageBus {
  private readonly log: RawMessage[] = [];
  private readonly groups = new Map<string, Group>();

  constructor(private readonly consortiumId: string) {}

  async publish(messages: OutgoingMessage[]): Promise<void> {
    await this.publishRaw(
      messages.map((m) => ({ topic: m.topic, key: m.key, payload: JSON.stringify(m.event) })),
    );
  }

  async publishRaw(messages: { topic: string; key: string; payload: string }[]): Promise<void> {
    const raw = messages.map((m, i) => ({
      ...m,
      partition: partitionOf(m.key, PARTITIONS),
      offset: String(this.log.length + i),
    }));
    this.log.push(...raw);
    for (const group of [...this.groups.values()]) await this.deliver(group, raw);
  }

  subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    return this.join(options, async (raw) => {
      const letters = await consumeBatch(raw, options.groupId, handler);
      if (letters.length) await this.publishRaw(letters.map((l) => this.asDeadLetterMessage(l)));
    });
  }

  subscribeDeadLetters(
    groupId: string,
    handler: (letters: DeadLetter[]) => Promise<void>,
  ): Promise<Subscription> {
    return this.join({ groupId, topics: [deadLetterTopic(this.consortiumId)], fromBeginning: true }, (raw) =>
      handler(parseDeadLetters(raw)),
    );
  }

  async readDeadLetters(): Promise<DeadLetter[]> {
    return parseDeadLetters(this.log.filter((m) => m.topic === deadLetterTopic(this.consortiumId)));
  }

  async close(): Promise<void> {
    this.groups.clear();
  }

  private asDeadLetterMessage(l: DeadLetter) {
    return { topic: deadLetterTopic(this.consortiumId), key: l.key, payload: JSON.stringify(l) };
  }

  private async join(options: SubscribeOptions, take: Group['take']): Promise<Subscription> {
    if (this.groups.has(options.groupId))
      throw new Error(`group ${options.groupId} already has a consumer here`);
    const group = { groupId: options.groupId, topics: options.topics, take };
    this.groups.set(options.groupId, group);
    if (options.fromBeginning) await this.deliver(group, [...this.log]);
    return { stop: async () => void this.groups.delete(options.groupId) };
  }

  private async deliver(group: Group, raw: RawMessage[]): Promise<void> {
    const mine = raw.filter((m) => group.topics.includes(m.topic));
    for (let p = 0; p < PARTITIONS; p++) {
      const batch = mine.filter((m) => m.partition === p);
      if (batch.length) await group.take(batch);
    }
  }
}
