import { CloudEvent } from './cloud-event';

export interface OutgoingMessage {
  topic: string;
  /** The subject (a person's consortium reference): one subject's events stay on one partition, in order. */
  key: string;
  event: CloudEvent;
}

export interface Delivery {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  event: CloudEvent;
}

/** A message the consumer could not take: it goes to the dead-letter topic with the reason. */
export interface Rejection {
  delivery: Delivery;
  reason: string;
}

/**
 * Called with a batch of messages from one partition, in order. Throwing means "not now" (the batch is
 * delivered again later); a message that can never be handled is returned as a rejection instead.
 */
export type BatchHandler = (batch: Delivery[]) => Promise<Rejection[] | undefined>;

export interface SubscribeOptions {
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
}

export interface Subscription {
  stop(): Promise<void>;
}

/** A dead letter as it is kept: where it came from, why, and the message as it arrived. */
export interface DeadLetter {
  reason: string;
  groupId: string;
  topic: string;
  partition: number;
  offset: string;
  key: string;
  payload: string;
  at: string;
}

/** The port between organisations: Kafka in production, an in-process bus in the embedded default. */
export interface MessageBus {
  /** Resolves once every message is acknowledged (by all in-sync replicas, on Kafka). */
  publish(messages: OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription>;
  /** Follows the dead-letter topic: what every consumer could not handle, with the reason. */
  subscribeDeadLetters(
    groupId: string,
    handler: (letters: DeadLetter[]) => Promise<void>,
  ): Promise<Subscription>;
  /** Every dead letter on the dead-letter topic now, oldest first per partition (see listDeadLetters). */
  readDeadLetters(): Promise<DeadLetter[]>;
  /** Puts messages on a topic as they are: how dead letters are replayed, and how tests bring poison. */
  publishRaw(messages: { topic: string; key: string; payload: string }[]): Promise<void>;
  close(): Promise<void>;
  /** Throws when the brokers cannot be reached (readiness); a bus with nothing to reach has none. */
  ping?(): Promise<void>;
  /** Per partition, how many messages a group has still to take (committed offset to the end). */
  consumerLag?(groupId: string, topics: string[]): Promise<PartitionLag[]>;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}
