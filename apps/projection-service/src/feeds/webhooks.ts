import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { EvidencePackEvent } from '@app/domain';
import { checkpointOf, EventStore, LOG_START, LogCheckpoint } from '@app/event-store';
import { Clock } from '@app/platform';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EvidencePacks } from '../evidence/evidence-packs';
import { encodeCursor, feedEntry } from './feed';

/** Webhooks are settings and a delivery log, not derived from events: a rebuild leaves them alone. */
export const WEBHOOK_MIGRATION = `
  CREATE TABLE {schema}.webhooks (
    body text PRIMARY KEY, url text NOT NULL, secret text NOT NULL, set_by text NOT NULL, set_at timestamptz NOT NULL);
  CREATE TABLE {schema}.webhook_deliveries (
    delivery_id uuid PRIMARY KEY, body text NOT NULL, pack_id text NOT NULL, payload jsonb NOT NULL,
    status text NOT NULL, attempts int NOT NULL DEFAULT 0, next_attempt_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL, delivered_at timestamptz, UNIQUE (body, pack_id));
  CREATE INDEX webhook_deliveries_due ON {schema}.webhook_deliveries (next_attempt_at) WHERE status = 'pending';
  CREATE TABLE {schema}.webhook_attempts (
    id bigserial PRIMARY KEY, delivery_id uuid NOT NULL, at timestamptz NOT NULL, url text NOT NULL,
    status_code int, error text, duration_ms int NOT NULL);
  CREATE INDEX webhook_attempts_delivery ON {schema}.webhook_attempts (delivery_id, at);
  CREATE TABLE {schema}.webhook_cursor (
    id int PRIMARY KEY CHECK (id = 1), transaction_id text NOT NULL, position bigint NOT NULL);`;

export interface WebhookOptions {
  /** The first retry waits this long; each later one twice as long as the one before, up to an hour. */
  retryBaseMs?: number;
  /** After this many failed attempts a delivery is dead: it waits for someone to replay it. */
  maxAttempts?: number;
  /** How often the dispatcher looks for new publications and due deliveries. */
  intervalMs?: number;
  /** How long one attempt may take. */
  timeoutMs?: number;
}

/**
 * The HMAC-SHA256 signature a body's system checks: over the timestamp and the exact bytes sent, with the
 * secret it was given when it set its webhook. The timestamp lets it refuse replays of old deliveries.
 */
export function webhookSignature(secret: string, timestamp: number, payload: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex')}`;
}

/**
 * Pushes each published pack to its body's webhook: every publication in the consortium's log becomes one
 * delivery (once, whichever instance sees it first), attempted until it succeeds, with backoff, and every
 * attempt logged. A delivery that runs out of attempts is dead until replayed.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly logger = new Logger('webhooks');
  private readonly o: Required<WebhookOptions>;
  /** Told of each failed attempt, and whether the delivery is now dead (the service's metrics count them). */
  onFailure: (body: string, dead: boolean) => void = () => undefined;

  constructor(
    private readonly store: EventStore,
    private readonly packs: EvidencePacks,
    private readonly dataSource: DataSource,
    private readonly schema: string,
    private readonly clock: Clock,
    options: WebhookOptions = {},
  ) {
    this.o = { retryBaseMs: 1000, maxAttempts: 8, intervalMs: 500, timeoutMs: 10_000, ...options };
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick()
        .catch((e) => this.logger.warn(`webhook dispatch: ${(e as Error).message}`))
        .finally(() => {
          this.running = null;
        });
    }, this.o.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One round: new publications become deliveries, then due deliveries are attempted. */
  async tick(): Promise<void> {
    await this.enqueue();
    await this.sendDue();
  }

  async setWebhook(body: string, url: string, setBy: string): Promise<{ url: string; secret: string }> {
    const secret = randomBytes(32).toString('base64url');
    await this.dataSource.query(
      `INSERT INTO ${this.schema}.webhooks (body, url, secret, set_by, set_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (body) DO UPDATE SET url = $2, secret = $3, set_by = $4, set_at = $5`,
      [body, url, secret, setBy, this.clock.now()],
    );
    return { url, secret };
  }

  async removeWebhook(body: string): Promise<boolean> {
    const [, count] = await this.dataSource.query(`DELETE FROM ${this.schema}.webhooks WHERE body = $1`, [
      body,
    ]);
    return count > 0;
  }

  /** The body's webhook (never its secret) and its latest deliveries, each with its attempts. */
  async describe(body: string) {
    const [hook] = await this.dataSource.query(
      `SELECT url, set_by AS "setBy", set_at AS "setAt" FROM ${this.schema}.webhooks WHERE body = $1`,
      [body],
    );
    const deliveries = await this.dataSource.query(
      `SELECT d.delivery_id AS "deliveryId", d.pack_id AS "packId", d.status, d.attempts,
              d.next_attempt_at AS "nextAttemptAt", d.created_at AS "createdAt", d.delivered_at AS "deliveredAt",
              coalesce((SELECT json_agg(json_build_object('at', a.at, 'url', a.url, 'statusCode', a.status_code,
                        'error', a.error, 'durationMs', a.duration_ms) ORDER BY a.at)
                 FROM ${this.schema}.webhook_attempts a WHERE a.delivery_id = d.delivery_id), '[]') AS "attemptLog"
         FROM ${this.schema}.webhook_deliveries d WHERE d.body = $1 ORDER BY d.created_at DESC LIMIT 50`,
      [body],
    );
    return { webhook: hook ?? null, deliveries };
  }

  /** Makes a delivery (dead or not) due now, with a fresh run of attempts. */
  async replay(body: string, deliveryId: string): Promise<boolean> {
    const [, count] = await this.dataSource.query(
      `UPDATE ${this.schema}.webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $3
        WHERE body = $1 AND delivery_id = $2 AND status <> 'delivered'`,
      [body, deliveryId, this.clock.now()],
    );
    return count > 0;
  }

  private async enqueue(): Promise<void> {
    const [row] = await this.dataSource.query(
      `SELECT transaction_id, position FROM ${this.schema}.webhook_cursor WHERE id = 1`,
    );
    let at: LogCheckpoint = row
      ? { transactionId: row.transaction_id, position: Number(row.position) }
      : LOG_START;
    const batch = await this.store.readLog(at, 200);
    if (batch.length === 0) return;
    // The packs are read first: no other query may wait inside the transaction (on the embedded database
    // every connection shares one session, and an open transaction holds it).
    const deliveries: unknown[][] = [];
    for (const e of batch) {
      at = checkpointOf(e);
      const event = { type: e.type, data: e.data } as EvidencePackEvent;
      if (event.type !== 'EvidencePackPublished') continue;
      const doc = await this.packs.get(event.data.packId);
      if (!doc) continue;
      const payload = feedEntry(encodeCursor(at), doc.period, event.data);
      deliveries.push([randomUUID(), event.data.body, event.data.packId, payload, this.clock.now()]);
    }
    await this.dataSource.transaction(async (em) => {
      // Only bodies with a webhook get deliveries; the pull feed holds every entry for the others.
      for (const values of deliveries) {
        await em.query(
          `INSERT INTO ${this.schema}.webhook_deliveries
             (delivery_id, body, pack_id, payload, status, next_attempt_at, created_at)
           SELECT $1, $2, $3, $4, 'pending', $5, $5 WHERE EXISTS (SELECT 1 FROM ${this.schema}.webhooks WHERE body = $2)
           ON CONFLICT (body, pack_id) DO NOTHING`,
          values,
        );
      }
      await em.query(
        `INSERT INTO ${this.schema}.webhook_cursor (id, transaction_id, position) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET transaction_id = $1, position = $2`,
        [at.transactionId, at.position],
      );
    });
  }

  private async sendDue(): Promise<void> {
    const now = this.clock.now();
    // Claim due deliveries with a lease, so another instance does not send the same one meanwhile.
    const [claimed] = await this.dataSource.query(
      `UPDATE ${this.schema}.webhook_deliveries d SET next_attempt_at = $2
        WHERE delivery_id IN (SELECT delivery_id FROM ${this.schema}.webhook_deliveries
                               WHERE status = 'pending' AND next_attempt_at <= $1
                               ORDER BY next_attempt_at LIMIT 20 FOR UPDATE SKIP LOCKED)
        RETURNING d.delivery_id, d.body, d.payload, d.attempts`,
      [now, new Date(now.getTime() + this.o.timeoutMs * 2)],
    );
    for (const d of claimed as { delivery_id: string; body: string; payload: object; attempts: number }[]) {
      await this.attempt(d);
    }
  }

  private async attempt(d: { delivery_id: string; body: string; payload: object; attempts: number }) {
    const [hook] = await this.dataSource.query(
      `SELECT url, secret FROM ${this.schema}.webhooks WHERE body = $1`,
      [d.body],
    );
    const started = Date.now();
    const at = this.clock.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    if (!hook) error = 'the body has no webhook any more';
    else {
      const payload = JSON.stringify(d.payload);
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hls-delivery': d.delivery_id,
            'x-hls-event': 'evidence-pack.published',
            'x-hls-signature': webhookSignature(hook.secret, Math.floor(at.getTime() / 1000), payload),
          },
          body: payload,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.o.timeoutMs),
        });
        statusCode = res.status;
        if (!res.ok) error = `answered ${res.status}`;
        await res.body?.cancel();
      } catch (e) {
        error = (e as Error).message;
      }
    }
    const attempts = d.attempts + 1;
    const delivered = error === null;
    const dead = !delivered && attempts >= this.o.maxAttempts;
    const wait = Math.min(this.o.retryBaseMs * 2 ** (attempts - 1), 3600_000);
    await this.dataSource.transaction(async (em) => {
      await em.query(
        `INSERT INTO ${this.schema}.webhook_attempts (delivery_id, at, url, status_code, error, duration_ms)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [d.delivery_id, at, hook?.url ?? '', statusCode, error, Date.now() - started],
      );
      await em.query(
        `UPDATE ${this.schema}.webhook_deliveries SET attempts = $2, status = $3, next_attempt_at = $4, delivered_at = $5
          WHERE delivery_id = $1`,
        [
          d.delivery_id,
          attempts,
          delivered ? 'delivered' : dead ? 'dead' : 'pending',
          new Date(at.getTime() + wait),
          delivered ? at : null,
        ],
      );
    });
    if (!delivered) this.onFailure(d.body, dead);
    if (!delivered)
      this.logger.warn(
        `delivery ${d.delivery_id} to ${d.body} failed (attempt ${attempts}${dead ? ', now dead' : ''}): ${error}`,
      );
  }
}
