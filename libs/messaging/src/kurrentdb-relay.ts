import {
  checkpointOf,
  LogCheckpoint,
  LogSubscription,
  RecordedEvent,
  RelayCheckpointStore,
  SubscribableLog,
} from '@app/event-store';
import { toCloudEvent, topicFor } from './cloud-event';
import { MessageBus } from './message-bus.port';
import { RelayOptions } from './relay';

/** What a partner service needs of its relay, whichever store it tails. */
export interface LogRelay {
  start(): void;
  wake(): void;
  stop(): Promise<void>;
  readonly publishedCount: number;
}

/**
 * The relay for a KurrentDB store: instead of polling the log it follows KurrentDB's own catch-up subscription to
 * $all (filtered to the store's streams, so no system events), publishes what arrives in batches, and keeps its
 * checkpoint beside the store. Publishing happens before the checkpoint moves, so a crash republishes (consumers
 * dedupe by event id) and never skips. While the bus is slow the subscription is paused, so at most two batches
 * wait in memory. When the subscription or the bus fails it is dropped and taken again from the last event the
 * bus confirmed.
 */
export class KurrentDbRelay implements LogRelay {
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private published = 0;
  private at: LogCheckpoint | null = null;
  private saved: LogCheckpoint | null = null;
  private savedAt = 0;

  constructor(
    private readonly log: SubscribableLog,
    private readonly bus: MessageBus,
    private readonly checkpoints: RelayCheckpointStore,
    private readonly options: RelayOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** The subscription brings new events by itself; nothing to do. */
  wake(): void {}

  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
    await this.save().catch((e) => this.options.onError?.(e));
  }

  get publishedCount(): number {
    return this.published;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      try {
        this.at ??= await this.checkpoints.load(this.options.name);
        this.saved ??= this.at;
        await this.follow(this.at, () => {
          backoff = 100;
        });
      } catch (e) {
        // KurrentDB or the bus away: keep the checkpoint, wait, subscribe again from it. Nothing is skipped.
        this.options.onError?.(e);
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  /** Publishes from one subscription until stopped (returns) or until it or the bus fails (throws). */
  private async follow(from: LogCheckpoint, published: () => void): Promise<void> {
    const size = this.options.batchSize ?? 1000;
    const waiting: RecordedEvent[] = [];
    let failure: unknown = null;
    let paused = false;
    const subscription: LogSubscription = this.log.subscribeToLog(from, {
      event: (e) => {
        waiting.push(e);
        if (waiting.length >= 2 * size && !paused) {
          paused = true;
          subscription.pause();
        }
        this.wakeUp?.();
      },
      error: (e) => {
        failure ??= e;
        this.wakeUp?.();
      },
    });
    try {
      while (this.running) {
        if (failure) throw failure;
        if (waiting.length === 0) {
          await this.save();
          await this.sleep(this.options.idleMs ?? 1000);
          continue;
        }
        const batch = waiting.splice(0, size);
        if (paused && waiting.length < size) {
          paused = false;
          subscription.resume();
        }
        await this.bus.publish(
          batch.map((e) => ({
            topic: topicFor(this.options.consortiumId, e.metadata.scale),
            key: e.metadata.subject,
            event: toCloudEvent(this.options.consortiumId, e),
          })),
        );
        this.at = checkpointOf(batch[batch.length - 1]);
        this.published += batch.length;
        published();
        if (Date.now() - this.savedAt >= (this.options.saveEveryMs ?? 200)) await this.save();
      }
    } finally {
      await subscription.stop();
    }
  }

  private async save(): Promise<void> {
    if (!this.at || (this.saved && sameCheckpoint(this.saved, this.at))) return;
    const at = this.at;
    await this.checkpoints.save(this.options.name, at);
    this.saved = at;
    this.savedAt = Date.now();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeUp = null;
        resolve();
      }
      this.wakeUp = done;
    });
  }
}

const sameCheckpoint = (a: LogCheckpoint, b: LogCheckpoint) =>
  a.position === b.position && a.transactionId === b.transactionId;
