import { checkpointOf, EventStore, LOG_START, LogCheckpoint, RecordedEvent } from '@app/event-store';
import { checkSchemaName, migrate } from '@app/platform';
import { Pool } from 'pg';
import { toCloudEvent, topicFor } from './cloud-event';
import { MessageBus } from './message-bus.port';

/** Where a relay has got to in its store's log, kept beside the store (the store is the outbox). */
export class RelayCheckpoints {
  private constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {}

  static async open(pool: Pool, schema: string): Promise<RelayCheckpoints> {
    await migrate(pool, checkSchemaName(schema), 'relay', [
      `CREATE TABLE {schema}.relay_checkpoints (
         relay text PRIMARY KEY, transaction_id text NOT NULL, position bigint NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now())`,
    ]);
    return new RelayCheckpoints(pool, schema);
  }

  async load(relay: string): Promise<LogCheckpoint> {
    const { rows } = await this.pool.query(
      `SELECT transaction_id, position FROM ${this.schema}.relay_checkpoints WHERE relay = $1`,
      [relay],
    );
    return rows[0]
      ? { transactionId: rows[0].transaction_id, position: Number(rows[0].position) }
      : LOG_START;
  }

  async save(relay: string, at: LogCheckpoint): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.schema}.relay_checkpoints (relay, transaction_id, position) VALUES ($1, $2, $3)
       ON CONFLICT (relay) DO UPDATE SET transaction_id = $2, position = $3, updated_at = now()`,
      [relay, at.transactionId, at.position],
    );
  }
}

export interface RelayOptions {
  name: string;
  consortiumId: string;
  batchSize?: number;
  /** How often to look at the log when nobody woke the relay. */
  idleMs?: number;
  /**
   * How long a wake-up waits for more appends before the relay reads: a burst of commands goes out in one read
   * and one publish, not one each.
   */
  gatherMs?: number;
  /**
   * While there is more to publish, the checkpoint is saved at most this often (and always once the log is
   * caught up, and at stop): a crash republishes at most this much, which consumers absorb (they dedupe).
   */
  saveEveryMs?: number;
  onError?: (e: unknown) => void;
}

/**
 * Tails a partner's event store in commit-safe order and publishes each event to the bus, then moves its
 * checkpoint. A crash between the two republishes what was published since the last save (consumers dedupe by
 * event id); it never loses an event. While one batch is being published the next is read.
 */
export class Relay {
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private gathering: ReturnType<typeof setTimeout> | null = null;
  /** Whether the last batch was a whole one: then there is likely more, and the relay reads on at once. */
  private full = false;
  private woken = false;
  private published = 0;
  /** Where publishing has got to (confirmed by the bus); read from the table once, at the first pump. */
  private at: LogCheckpoint | null = null;
  /** What is saved in the table, and when. */
  private saved: LogCheckpoint | null = null;
  private savedAt = 0;
  /** The next batch, read while the last one was being published. */
  private ahead: { from: LogCheckpoint; batch: Promise<RecordedEvent[]> } | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly bus: MessageBus,
    private readonly checkpoints: RelayCheckpoints,
    private readonly options: RelayOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Called after an append in this process, so the event goes out without waiting for the next look. */
  wake(): void {
    if (!this.wakeUp) {
      // Woken while publishing: look again soon after this batch, not at the next idle look.
      this.woken = true;
      return;
    }
    if (this.gathering) return;
    this.gathering = setTimeout(() => {
      this.gathering = null;
      this.wakeUp?.();
    }, this.options.gatherMs ?? 3);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
    await this.save().catch((e) => this.options.onError?.(e));
  }

  get publishedCount(): number {
    return this.published;
  }

  /** Publishes one batch; returns how many events went out. */
  async pumpOnce(): Promise<number> {
    this.at ??= await this.checkpoints.load(this.options.name);
    this.saved ??= this.at;
    const size = this.options.batchSize ?? 1000;
    const at = this.at;
    const ahead = this.ahead;
    this.ahead = null;
    const batch =
      ahead && sameCheckpoint(ahead.from, at) ? await ahead.batch : await this.store.readLog(at, size);
    if (batch.length === 0) {
      await this.save();
      return 0;
    }
    const next = checkpointOf(batch[batch.length - 1]);
    this.full = batch.length >= size;
    // Read on while the bus takes this batch, when it was a whole one (a part batch was the end of the log: a
    // read now would find little or nothing). A failed read is simply made again next time.
    if (this.full) {
      const following = this.store.readLog(next, size);
      following.catch(() => undefined);
      this.ahead = { from: next, batch: following };
    }
    try {
      await this.bus.publish(
        batch.map((e) => ({
          topic: topicFor(this.options.consortiumId, e.metadata.scale),
          key: e.metadata.subject,
          event: toCloudEvent(this.options.consortiumId, e),
        })),
      );
    } catch (e) {
      this.ahead = null;
      throw e;
    }
    this.at = next;
    this.published += batch.length;
    if (Date.now() - this.savedAt >= (this.options.saveEveryMs ?? 200)) await this.save();
    return batch.length;
  }

  /** Saves where publishing has got to, if it moved since the last save. */
  private async save(): Promise<void> {
    if (!this.at || (this.saved && sameCheckpoint(this.saved, this.at))) return;
    const at = this.at;
    await this.checkpoints.save(this.options.name, at);
    this.saved = at;
    this.savedAt = Date.now();
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      try {
        const n = await this.pumpOnce();
        backoff = 100;
        // After a part batch the log was caught up: wait to be woken by an append (or the idle look).
        if (n > 0 && this.full) continue;
        const woken = this.woken;
        this.woken = false;
        await this.sleep(woken ? (this.options.gatherMs ?? 3) : (this.options.idleMs ?? 25));
      } catch (e) {
        // Broker or database away: keep the checkpoint, wait, try again. Nothing is skipped.
        this.options.onError?.(e);
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.gathering) clearTimeout(self.gathering);
        self.gathering = null;
        self.wakeUp = null;
        resolve();
      }
      this.wakeUp = done;
    });
  }
}

const sameCheckpoint = (a: LogCheckpoint, b: LogCheckpoint) =>
  a.position === b.position && a.transactionId === b.transactionId;
