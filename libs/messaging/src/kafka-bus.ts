import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UnavailableError } from '@app/platform';
import { Consumer, Kafka, logLevel, Producer } from 'kafkajs';
import { deadLetterTopic } from './cloud-event';
import { consumeBatch, parseDeadLetters, RawMessage } from './decode';
import {
  BatchHandler,
  DeadLetter,
  MessageBus,
  OutgoingMessage,
  PartitionLag,
  SubscribeOptions,
  Subscription,
} from './message-bus.port';
import {
  consortiumTopics,
  ensureTopicsExist,
  logAssignment,
  logConsumerRestart,
  TopicCheck,
  TopicSettings,
  topicSettingsFromEnv,
} from './topics';

export interface KafkaBusOptions {
  clientId: string;
  consortiumId: string;
  /** Read on every (re)connection, so that a broker set that moved is found again. */
  brokers: () => string[];
  partitions?: number;
  /**
   * How long a fetch may wait for new messages. The latency floor of every consumer: a fetch that is
   * waiting is not woken by a new message on every broker, so this bounds the wait. Default 20 ms.
   */
  maxWaitMs?: number;
  /** Partitions, copies, retention and producer idempotence; default from the environment (topicSettingsFromEnv). */
  topics?: Partial<TopicSettings>;
}

/** KAFKA_LOG=debug, info, warn or error shows the Kafka client's own log from that level up; nothing by default. */
const KAFKA_LOG_LEVELS: Record<string, logLevel> = {
  debug: logLevel.DEBUG,
  info: logLevel.INFO,
  warn: logLevel.WARN,
  error: logLevel.ERROR,
};

/** Brokers from KAFKA_BROKERS (a comma list) or from a file that holds one (KAFKA_BROKERS_FILE). */
export function brokersFromEnv(env = process.env): (() => string[]) | null {
  if (env.KAFKA_BROKERS_FILE) {
    const file = env.KAFKA_BROKERS_FILE;
    return () => readFileSync(file, 'utf8').trim().split(',');
  }
  if (env.KAFKA_BROKERS) {
    const list = env.KAFKA_BROKERS.split(',');
    return () => list;
  }
  return null;
}

/**
 * The Kafka adapter (kafkajs). Producers wait for every in-sync replica; consumers take a partition's batch,
 * commit its offsets only after the handler took it, and send what cannot be handled to the dead-letter topic.
 */
export class KafkaBus implements MessageBus {
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private connecting: Promise<Producer> | null = null;
  private readonly consumers = new Set<Consumer>();
  private readonly knownTopics = new Set<string>();
  readonly topicSettings: TopicSettings;
  private closed = false;

  constructor(private readonly options: KafkaBusOptions) {
    const settings = { ...topicSettingsFromEnv(), ...options.topics };
    this.topicSettings = { ...settings, partitions: options.partitions ?? settings.partitions };
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: async () => options.brokers(),
      logLevel: KAFKA_LOG_LEVELS[process.env.KAFKA_LOG ?? ''] ?? logLevel.NOTHING,
      connectionTimeout: 3000,
      requestTimeout: 10000,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
    });
  }

  async publish(messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const byTopic = new Map<string, { key: string; value: string }[]>();
    for (const m of messages) {
      const list = byTopic.get(m.topic) ?? [];
      list.push({ key: m.key, value: JSON.stringify(m.event) });
      byTopic.set(m.topic, list);
    }
    await this.send([...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })));
  }

  async publishRaw(messages: { topic: string; key: string; payload: string }[]): Promise<void> {
    await this.send(messages.map((m) => ({ topic: m.topic, messages: [{ key: m.key, value: m.payload }] })));
  }

  subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    return this.join(options, async (raw) => {
      const letters = await consumeBatch(raw, options.groupId, handler);
      if (letters.length) {
        const topic = deadLetterTopic(this.options.consortiumId);
        await this.publishRaw(letters.map((l) => ({ topic, key: l.key, payload: JSON.stringify(l) })));
      }
    });
  }

  subscribeDeadLetters(
    groupId: string,
    handler: (letters: DeadLetter[]) => Promise<void>,
  ): Promise<Subscription> {
    const topics = [deadLetterTopic(this.options.consortiumId)];
    return this.join({ groupId, topics, fromBeginning: true }, (raw) => handler(parseDeadLetters(raw)));
  }

  /**
   * Reads the dead-letter topic from its first message to where it ends now, in a throwaway group that
   * commits nothing, so listing the dead letters moves no consumer's place.
   */
  async readDeadLetters(timeoutMs = 30000): Promise<DeadLetter[]> {
    const topic = deadLetterTopic(this.options.consortiumId);
    await this.ensureTopics([topic]);
    const admin = this.kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
    // Each partition's end (the offset after its last message) as it is now; an empty one is already read.
    const pending = new Map(
      ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => [e.partition, Number(e.high)]),
    );
    const end = new Map(pending);
    const raw: RawMessage[] = [];
    if (pending.size === 0) return [];
    const consumer = this.kafka.consumer({
      groupId: `${this.options.clientId}.dead-letter-reader.${randomUUID()}`,
      maxWaitTimeInMs: this.options.maxWaitMs ?? 20,
      sessionTimeout: 10000,
      heartbeatInterval: 1000,
      // A cluster replaced after a loss starts without topics: a consumer that joined before the relays made
      // them again must see them within seconds, not at the default five-minute metadata refresh.
      metadataMaxAge: 3000,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new UnavailableError('Kafka did not hand over the dead letters in time')),
          timeoutMs,
        );
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const until = end.get(batch.partition) ?? 0;
              for (const m of batch.messages) {
                if (Number(m.offset) >= until || !pending.has(batch.partition)) continue;
                raw.push({
                  topic,
                  partition: batch.partition,
                  offset: m.offset,
                  key: m.key?.toString() ?? '',
                  payload: m.value?.toString() ?? '',
                });
                if (Number(m.offset) + 1 >= until) pending.delete(batch.partition);
              }
              if (pending.size === 0) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    raw.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
    return parseDeadLetters(raw);
  }

  /** A consumer in a group: a partition's batch is taken whole before its offset is committed. */
  private async join(
    options: SubscribeOptions,
    take: (raw: RawMessage[]) => Promise<void>,
  ): Promise<Subscription> {
    await this.ensureTopics([...options.topics, deadLetterTopic(this.options.consortiumId)]);
    let stopped = false;
    let current: Consumer | null = null;
    const start = async (): Promise<void> => {
      const consumer = this.kafka.consumer({
        groupId: options.groupId,
        maxWaitTimeInMs: this.options.maxWaitMs ?? 20,
        sessionTimeout: 10000,
        heartbeatInterval: 1000,
        // A cluster replaced after a loss starts without topics: a consumer that joined before the relays made
        // them again must see them within seconds, not at the default five-minute metadata refresh.
        metadataMaxAge: 3000,
        retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5000 },
      });
      await consumer.connect();
      await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? false });
      // Which partitions this instance holds after every rebalance of its group: where to look when one lags.
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
        logAssignment(options.groupId, payload.memberAssignment),
      );
      // kafkajs restarts a consumer after a crash it deems passing; after any other (a broker answering
      // INVALID_REQUEST in the middle of a rebalance, seen on the mock cluster) the consumer stays stopped and
      // this subscription would take nothing more. Start a new one in its place.
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (payload.restart || stopped || this.closed) return;
        this.consumers.delete(consumer);
        logConsumerRestart(options.groupId, payload.error);
        const again = () =>
          setTimeout(() => {
            if (!stopped && !this.closed) start().catch(again);
          }, 1000);
        again();
      });
      await consumer.run({
        eachBatchAutoResolve: false,
        // Partitions are independent (one subject stays on one), so they are taken side by side.
        partitionsConsumedConcurrently: 4,
        // Offsets are a hint for where to resume: consumers dedupe by event id, so committing them at most
        // twice a second (not after every batch) loses nothing and saves a round trip per batch.
        autoCommitInterval: 500,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
          if (batch.messages.length === 0) return;
          await take(
            batch.messages.map((m) => ({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              key: m.key?.toString() ?? '',
              payload: m.value?.toString() ?? '',
            })),
          );
          resolveOffset(batch.messages[batch.messages.length - 1].offset);
          await commitOffsetsIfNecessary();
          await heartbeat();
        },
      });
      current = consumer;
      this.consumers.add(consumer);
    };
    await start();
    return {
      stop: async () => {
        stopped = true;
        const consumer = current;
        if (!consumer) return;
        this.consumers.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  /**
   * Topics are created at start (partitions, copies, retention: see topics.ts) where the cluster allows it,
   * else by a metadata request (auto-create); one that exists is left as it is and checked against its spec.
   */
  async ensureTopics(topics: string[]): Promise<TopicCheck[]> {
    const missing = topics.filter((t) => !this.knownTopics.has(t));
    if (missing.length === 0) return [];
    const all = consortiumTopics(this.options.consortiumId, this.topicSettings);
    const specs = missing.map(
      (topic) => all.find((s) => s.topic === topic) ?? { ...all[0], topic, configs: {} },
    );
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const checks = await ensureTopicsExist(admin, specs);
      for (const t of missing) this.knownTopics.add(t);
      return checks;
    } finally {
      await admin.disconnect();
    }
  }

  /** Readiness: the cluster describes itself to an admin client within a few seconds, or Kafka is down. */
  async ping(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
    } catch (e) {
      throw new UnavailableError(`Kafka does not answer: ${(e as Error).message}`, e);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Per partition, how far a group's committed offset is behind the partition's end (none committed: from the start). */
  async consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const lags: PartitionLag[] = [];
      const committed = await admin.fetchOffsets({ groupId, topics });
      for (const topic of topics) {
        const ends = await admin.fetchTopicOffsets(topic);
        const mine = committed.find((c) => c.topic === topic)?.partitions ?? [];
        for (const end of ends) {
          const c = mine.find((p) => p.partition === end.partition);
          const at = c && Number(c.offset) >= 0 ? Number(c.offset) : Number(end.low);
          lags.push({ topic, partition: end.partition, lag: Math.max(0, Number(end.high) - at) });
        }
      }
      return lags;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.disconnect().catch(() => undefined)));
    this.consumers.clear();
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = null;
  }

  private async send(topicMessages: { topic: string; messages: { key: string; value: string }[] }[]) {
    try {
      // Made with their retention and copies before the first send, never auto-created with the broker's defaults.
      await this.ensureTopics(topicMessages.map((t) => t.topic));
      const producer = await this.connectedProducer();
      await producer.sendBatch({ topicMessages, acks: -1 });
    } catch (e) {
      // A failed connection is not kept: the next attempt connects afresh, to wherever the brokers are now.
      const stale = this.producer;
      this.producer = null;
      this.connecting = null;
      await stale?.disconnect().catch(() => undefined);
      throw new UnavailableError('Kafka is unavailable just now', e);
    }
  }

  private connectedProducer(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    if (!this.connecting) {
      // Idempotent where the cluster can give a producer id: a send retried after a lost answer is written once.
      const idempotent = this.topicSettings.idempotentProducer;
      const producer = this.kafka.producer({
        allowAutoTopicCreation: true,
        idempotent,
        ...(idempotent ? { maxInFlightRequests: 1 } : {}),
        retry: { retries: 3 },
      });
      this.connecting = producer.connect().then(() => {
        this.producer = producer;
        return producer;
      });
      this.connecting.catch(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }
}
