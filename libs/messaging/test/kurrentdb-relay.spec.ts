import {
  isAfter,
  KurrentDbEventStore,
  LOG_START,
  LogCheckpoint,
  LogListener,
  LogSubscription,
  RecordedEvent,
  RelayCheckpointStore,
  SubscribableLog,
} from '@app/event-store';
import { createPool } from '@app/platform';
import { eventually, harnessState, uniqueSchema } from '../../../test/harness';
import { newEvent } from '../../event-store/test/event-store.contract';
import { KurrentDbStandIn } from '../../event-store/test/kurrentdb-stand-in';
import { KurrentDbRelay, MessageBus, OutgoingMessage, RelayCheckpoints } from '../src';

/**
 * The subscription relay's own logic (batches, checkpoint, back-pressure, recovery), on a log that pushes its
 * events the way KurrentDB's subscription to $all does. The subscription itself is exercised against a server in
 * libs/event-store/test/kurrentdb-event-store.spec.ts, which runs only where KURRENTDB_URL names one.
 */

/** A log that pushes events to its subscribers, as a catch-up subscription: first what is there, then live. */
class PushedLog implements SubscribableLog {
  readonly events: RecordedEvent[] = [];
  readonly subscriptions: Pushed[] = [];
  pauses = 0;
  delivered = 0;

  append(n: number): void {
    for (let i = 0; i < n; i++) {
      const position = this.events.length + 1;
      const e = newEvent(`subject-${position % 3}`, 'ContactRecorded', { position });
      const recorded: RecordedEvent = {
        ...e,
        streamId: `s-${position % 3}`,
        version: 0,
        position,
        // Commit positions in $all are sparse and large; the relay must not care.
        transactionId: String(position * 173),
        recordedAt: new Date().toISOString(),
        hash: 'ab'.repeat(32),
      };
      this.events.push(recorded);
      for (const s of this.subscriptions) if (s.caughtUp) this.deliver(s, recorded);
    }
  }

  subscribeToLog(after: LogCheckpoint, listener: LogListener): LogSubscription {
    const s: Pushed = { from: after, listener, paused: false, stopped: false, caughtUp: false, held: [] };
    this.subscriptions.push(s);
    // Catches up later, as the server does; what is appended meanwhile comes with the catch-up.
    setImmediate(() => {
      for (const e of this.events) if (isAfter(e, after)) this.deliver(s, e);
      s.caughtUp = true;
    });
    return {
      pause: () => {
        s.paused = true;
        this.pauses++;
      },
      resume: () => {
        s.paused = false;
        // As a paused stream does, it stops handing out events the moment it is paused again.
        while (!s.paused && s.held.length > 0) this.deliver(s, s.held.shift() as RecordedEvent);
      },
      stop: async () => {
        s.stopped = true;
      },
    };
  }

  fail(e: unknown): void {
    for (const s of this.subscriptions) if (!s.stopped) s.listener.error(e);
  }

  private deliver(s: Pushed, e: RecordedEvent) {
    if (s.stopped) return;
    if (s.paused) s.held.push(e);
    else {
      this.delivered++;
      s.listener.event(e);
    }
  }
}

interface Pushed {
  from: LogCheckpoint;
  listener: LogListener;
  paused: boolean;
  stopped: boolean;
  caughtUp: boolean;
  held: RecordedEvent[];
}

/** The bus as the relay sees it: publish, which can be made slow or failing. */
class RecordingBus {
  readonly published: OutgoingMessage[] = [];
  failing = false;
  delayMs = 0;
  async publish(messages: OutgoingMessage[]): Promise<void> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failing) throw new Error('broker away');
    this.published.push(...messages);
  }
}

class MemoryCheckpoints implements RelayCheckpointStore {
  readonly saved = new Map<string, LogCheckpoint>();
  async load(relay: string) {
    return this.saved.get(relay) ?? LOG_START;
  }
  async save(relay: string, at: LogCheckpoint) {
    this.saved.set(relay, at);
  }
}

function relayOf(log: PushedLog, bus: RecordingBus, checkpoints: MemoryCheckpoints, batchSize = 50) {
  return new KurrentDbRelay(log, bus as unknown as MessageBus, checkpoints, {
    name: 'fresh-start.relay',
    consortiumId: 'north-edinburgh',
    batchSize,
    idleMs: 20,
    onError: () => undefined,
  });
}

const positionsOf = (bus: RecordingBus) => bus.published.map((m) => m.event.position);

describe('the KurrentDB relay (subscription to the log, pushed)', () => {
  it('publishes every event in log order as a CloudEvent keyed by subject, and saves where it got to', async () => {
    const log = new PushedLog();
    const bus = new RecordingBus();
    const checkpoints = new MemoryCheckpoints();
    log.append(120);
    const relay = relayOf(log, bus, checkpoints);
    relay.start();
    log.append(30);
    await eventually(async () => (bus.published.length >= 150 ? true : undefined), '150 published');
    await relay.stop();
    expect(positionsOf(bus)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(bus.published[0]).toMatchObject({
      topic: expect.stringContaining('north-edinburgh'),
      key: 'subject-1',
      event: { streamid: 's-1', position: 1, type: 'scot.hls.ContactRecorded.v1' },
    });
    expect(relay.publishedCount).toBe(150);
    expect(checkpoints.saved.get('fresh-start.relay')).toEqual({
      transactionId: String(150 * 173),
      position: 150,
    });
  });

  it('starts again after its saved checkpoint: nothing published twice across a restart, nothing missed', async () => {
    const log = new PushedLog();
    const bus = new RecordingBus();
    const checkpoints = new MemoryCheckpoints();
    log.append(40);
    const first = relayOf(log, bus, checkpoints);
    first.start();
    await eventually(async () => (bus.published.length >= 40 ? true : undefined), '40 published');
    await first.stop();
    log.append(25); // while no relay runs
    const second = relayOf(log, bus, checkpoints);
    second.start();
    await eventually(async () => (bus.published.length >= 65 ? true : undefined), '65 published');
    await second.stop();
    expect(positionsOf(bus)).toEqual(Array.from({ length: 65 }, (_, i) => i + 1));
    expect(log.subscriptions[1].from).toEqual({ transactionId: String(40 * 173), position: 40 });
  });

  it('takes the subscription again from the last published event when it fails, skipping nothing', async () => {
    const log = new PushedLog();
    const bus = new RecordingBus();
    const relay = relayOf(log, bus, new MemoryCheckpoints());
    log.append(30);
    relay.start();
    await eventually(async () => (bus.published.length >= 30 ? true : undefined), '30 published');
    log.fail(new Error('KurrentDB closed the subscription'));
    log.append(30);
    await eventually(async () => (bus.published.length >= 60 ? true : undefined), '60 published');
    await relay.stop();
    expect(log.subscriptions.length).toBeGreaterThanOrEqual(2);
    // Every event at least once and in order of first appearance; any repeat is one the bus already took.
    const seen = positionsOf(bus);
    expect([...new Set(seen)]).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('keeps what the bus refused and publishes it once the bus is back', async () => {
    const log = new PushedLog();
    const bus = new RecordingBus();
    const relay = relayOf(log, bus, new MemoryCheckpoints());
    relay.start();
    log.append(10);
    await eventually(async () => (bus.published.length >= 10 ? true : undefined), '10 published');
    bus.failing = true;
    log.append(20);
    await new Promise((r) => setTimeout(r, 300));
    expect(bus.published).toHaveLength(10);
    bus.failing = false;
    await eventually(async () => (bus.published.length >= 30 ? true : undefined), '30 published', 10000);
    await relay.stop();
    expect([...new Set(positionsOf(bus))]).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('holds the subscription back while the bus is slow: two batches wait besides the one going out', async () => {
    const log = new PushedLog();
    const bus = new RecordingBus();
    bus.delayMs = 30;
    let mostInMemory = 0;
    const publish = bus.publish.bind(bus);
    bus.publish = async (messages) => {
      mostInMemory = Math.max(mostInMemory, log.delivered - bus.published.length);
      await publish(messages);
    };
    const relay = relayOf(log, bus, new MemoryCheckpoints(), 10);
    relay.start();
    log.append(200);
    await eventually(async () => (bus.published.length >= 200 ? true : undefined), '200 published', 20000);
    await relay.stop();
    expect(log.pauses).toBeGreaterThan(0);
    expect(mostInMemory).toBeLessThanOrEqual(3 * 10);
    expect(positionsOf(bus)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });
});

describe('the KurrentDB relay over the adapter (on the in-memory stand-in for the client, not KurrentDB)', () => {
  it("publishes a store's events through its subscription, with its checkpoint in the partner's PostgreSQL", async () => {
    const pool = createPool(harnessState().databaseUrl, 2);
    const schema = uniqueSchema('kdbrelay');
    const standIn = new KurrentDbStandIn();
    const store = await KurrentDbEventStore.open({ client: standIn.client, namespace: schema });
    const other = await KurrentDbEventStore.open({ client: standIn.client, namespace: `${schema}_other` });
    try {
      const checkpoints = await RelayCheckpoints.open(pool, schema);
      const bus = new RecordingBus();
      const relay = () =>
        new KurrentDbRelay(store, bus as unknown as MessageBus, checkpoints, {
          name: 'fresh-start.relay',
          consortiumId: 'north-edinburgh',
          idleMs: 20,
        });
      for (let i = 0; i < 12; i++) await store.append(`person-${i % 4}`, 'any', [newEvent(`NE-${i % 4}`)]);
      await other.append('person-x', 'any', [newEvent('another store')]);
      const first = relay();
      first.start();
      await eventually(async () => (bus.published.length >= 12 ? true : undefined), '12 published');
      await first.stop();
      // The checkpoint is saved with $all's commit position as the transaction: large, kept exactly.
      const saved = await checkpoints.load('fresh-start.relay');
      expect(saved.position).toBe(12);
      expect(BigInt(saved.transactionId)).toBeGreaterThan(12n);

      for (let i = 12; i < 20; i++) await store.append(`person-${i % 4}`, 'any', [newEvent(`NE-${i % 4}`)]);
      const second = relay();
      second.start();
      await eventually(async () => (bus.published.length >= 20 ? true : undefined), '20 published');
      await second.stop();
      expect(positionsOf(bus)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(bus.published.map((m) => m.key)).not.toContain('another store');
    } finally {
      await Promise.all([store.close(), other.close()]);
      await pool.end();
    }
  });
});
