import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * A service's metrics, in a registry of its own (several services share a process in the embedded default).
 * The names and what they mean are listed in docs/observability.md; labels never hold anything personal.
 */
export class ServiceMetrics {
  readonly registry = new Registry();

  readonly commands = new Counter({
    name: 'hls_commands_total',
    help: 'Commands handled, by command type and outcome (done, refused, conflict, failed)',
    labelNames: ['command', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly conflicts = new Counter({
    name: 'hls_conflicts_total',
    help: 'Commands answered 409 Conflict, by command type and cause (concurrent-change: the stream moved under the command; refused: the record is not in a state that allows it)',
    labelNames: ['command', 'cause'] as const,
    registers: [this.registry],
  });
  readonly appends = new Counter({
    name: 'hls_appends_total',
    help: 'Appends to the event store, by outcome (appended, conflict, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly appendedEvents = new Counter({
    name: 'hls_appended_events_total',
    help: 'Events appended to the event store',
    registers: [this.registry],
  });
  readonly relayLag = new Gauge({
    name: 'hls_relay_lag_positions',
    help: "Events in the partner's log after the relay's checkpoint: recorded, not yet confirmed published to Kafka",
    labelNames: ['relay'] as const,
    registers: [this.registry],
  });
  readonly relayPublished = new Counter({
    name: 'hls_relay_published_events_total',
    help: 'Events the relay published to Kafka',
    registers: [this.registry],
  });
  readonly consumerLag = new Gauge({
    name: 'hls_consumer_lag_messages',
    help: "Messages on a partition after the consumer group's committed offset",
    labelNames: ['group', 'topic', 'partition'] as const,
    registers: [this.registry],
  });
  readonly consumed = new Counter({
    name: 'hls_consumed_events_total',
    help: 'Events taken from Kafka, by consumer',
    labelNames: ['consumer'] as const,
    registers: [this.registry],
  });
  readonly projectionAge = new Gauge({
    name: 'hls_projection_age_seconds',
    help: 'Seconds since the last event applied to the read models was recorded at its partner',
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'hls_dead_letters_total',
    help: 'Messages this service could not handle and sent to the dead-letter topic, by consumer group and topic',
    labelNames: ['group', 'topic'] as const,
    registers: [this.registry],
  });
  readonly webhookFailures = new Counter({
    name: 'hls_webhook_failures_total',
    help: 'Webhook deliveries that failed, by statutory body and whether they will be retried (retrying) or gave up (dead)',
    labelNames: ['body', 'result'] as const,
    registers: [this.registry],
  });
  readonly httpRequests = new Histogram({
    name: 'hls_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status, and how long they took',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
  }

  private readonly beforeScrape: (() => Promise<void>)[] = [];

  /** Measures something at scrape time (a lag read from a database or Kafka); a failing probe is skipped. */
  onScrape(probe: () => Promise<void>): void {
    this.beforeScrape.push(probe);
  }

  async render(): Promise<string> {
    await Promise.all(this.beforeScrape.map((p) => withTimeout(p(), 2000).catch(() => undefined)));
    return this.registry.metrics();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
