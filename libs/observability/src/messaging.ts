import {
  BatchHandler,
  CloudEvent,
  Delivery,
  MessageBus,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
  watchDeadLetters,
} from '@app/messaging';
import {
  Context,
  context,
  Link,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanStatusCode,
  Tracer,
  trace,
} from '@opentelemetry/api';
import { ServiceObservability } from './observability';
import { currentScope, inScope } from './scope';
import { contextFrom, currentTraceContext, inSpan } from './tracing';

interface Queryable {
  query(sql: string, params: unknown[]): Promise<{ rows: { behind: number }[] }>;
}

/** More traces than this in one batch get one span with links, not a span each. */
const SPANS_PER_BATCH = 32;

/**
 * The service's view of the bus: what it publishes is traced (a publish span per trace in the batch, a child
 * of the append that recorded the events, whose context each CloudEvent then carries on as `traceparent`), and
 * what it consumes is traced (a consume span per trace, a child of that publish), counted and logged with the
 * batch's correlation id. Dead letters of its groups are counted; consumer lag is measured at scrape time.
 */
export function observeBus(
  obs: ServiceObservability,
  bus: MessageBus,
  options: {
    /** The projection's consumers: measure how old the last applied event is. */
    projection?: boolean;
    /** A relay publishing a PostgreSQL store's log: measure how far behind the log it is. */
    relay?: { name: string; pool: Queryable; schema: string };
  } = {},
): MessageBus {
  const groups = new Map<string, string[]>();
  let lastRecordedAt = 0;
  obs.onClose(
    watchDeadLetters((letters) => {
      for (const l of letters)
        if (groups.has(l.groupId)) obs.metrics.deadLetters.inc({ group: l.groupId, topic: l.topic });
    }),
  );
  obs.metrics.onScrape(async () => {
    if (!bus.consumerLag) return;
    for (const [group, topics] of groups)
      for (const p of await bus.consumerLag(group, topics))
        obs.metrics.consumerLag.set({ group, topic: p.topic, partition: String(p.partition) }, p.lag);
  });
  const relay = options.relay;
  if (relay)
    obs.metrics.onScrape(async () => {
      // Events after the relay's saved checkpoint (saved at least every 200 ms while it publishes), counted
      // up to a million: an operator needs to see the relay falling behind, not the exact figure beyond that.
      const { rows } = await relay.pool.query(
        `SELECT count(*)::int AS behind FROM (SELECT 1 FROM ${relay.schema}.events WHERE position >
           coalesce((SELECT position FROM ${relay.schema}.relay_checkpoints WHERE relay = $1), 0) LIMIT 1000000) s`,
        [relay.name],
      );
      obs.metrics.relayLag.set({ relay: relay.name }, rows[0].behind);
    });
  if (options.projection)
    obs.metrics.onScrape(async () => {
      if (lastRecordedAt) obs.metrics.projectionAge.set((Date.now() - lastRecordedAt) / 1000);
    });

  const publish = (messages: OutgoingMessage[]) => publishTraced(obs, messages, (m) => bus.publish(m));
  const subscribe = async (o: SubscribeOptions, handler: BatchHandler): Promise<Subscription> => {
    groups.set(o.groupId, o.topics);
    const sub = await bus.subscribe(
      o,
      consumeTraced(obs, o.groupId, handler, options.projection ? 'info' : 'debug', (taken) => {
        for (const d of taken) lastRecordedAt = Math.max(lastRecordedAt, Date.parse(d.event.recordedat) || 0);
      }),
    );
    return {
      stop: async () => {
        groups.delete(o.groupId);
        await sub.stop();
      },
    };
  };
  // Everything else is the bus's own (a proxy, so that methods the bus gains later pass through too).
  const observed = new Proxy(bus, {
    get(target, prop) {
      if (prop === 'publish') return publish;
      if (prop === 'subscribe') return subscribe;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return observed;
}

async function publishTraced(
  obs: ServiceObservability,
  messages: OutgoingMessage[],
  publish: (m: OutgoingMessage[]) => Promise<void>,
): Promise<void> {
  const spans = spansPerTrace(
    obs,
    'publish',
    SpanKind.PRODUCER,
    messages.map((m) => m.event),
  );
  // Each event goes on with the context of the publish that carried it: its consumers' spans are children.
  for (const m of messages) {
    const span = spans.byTrace.get(m.event.traceparent ?? '') ?? spans.fallback;
    if (!span) continue;
    const tc = currentTraceContext(trace.setSpan(ROOT_CONTEXT, span));
    m.event.traceparent = tc.traceparent;
    if (tc.tracestate) m.event.tracestate = tc.tracestate;
    else delete m.event.tracestate;
  }
  try {
    await publish(messages);
    obs.metrics.relayPublished.inc(messages.length);
  } catch (e) {
    spans.fail(e);
    throw e;
  } finally {
    spans.end();
  }
}

function consumeTraced(
  obs: ServiceObservability,
  group: string,
  handler: BatchHandler,
  level: 'info' | 'debug',
  onTaken: (taken: Delivery[]) => void,
): BatchHandler {
  return async (batch) => {
    const events = batch.map((d) => d.event);
    const correlationIds = [...new Set(events.map((e) => e.correlationid).filter(Boolean))];
    const scope = {
      ...obs.scope(correlationIds.length === 1 ? correlationIds[0] : undefined),
      ...(correlationIds.length > 1 ? { correlationIds: correlationIds.slice(0, 20) } : {}),
    };
    return inScope(scope, async () => {
      const spans = spansPerTrace(obs, `consume ${group}`, SpanKind.CONSUMER, events);
      // One trace in the batch: what the handler does is part of it. Several: each delivery's own handling
      // may continue its trace (withEvent), else the work stands in no one trace.
      const active: Context =
        spans.byTrace.size === 1 ? trace.setSpan(ROOT_CONTEXT, [...spans.byTrace.values()][0]) : ROOT_CONTEXT;
      try {
        const rejections = (await context.with(active, () => handler(batch))) ?? [];
        const rejected = new Set(rejections.map((r) => r.delivery));
        const taken = batch.filter((d) => !rejected.has(d));
        onTaken(taken);
        obs.metrics.consumed.inc({ consumer: group }, taken.length);
        context.with(active, () =>
          obs.log[level]({ group, events: taken.length, rejected: rejections.length }, 'took a batch'),
        );
        return rejections;
      } catch (e) {
        spans.fail(e);
        context.with(active, () =>
          obs.log.warn({ group, events: batch.length, error: (e as Error)?.name }, 'batch to be retried'),
        );
        throw e;
      } finally {
        spans.end();
      }
    });
  };
}

/**
 * Handles one event from the bus in its own trace (a child of the publish that carried it) and with its
 * correlation id: for a consumer that acts on each event, such as the referral intake.
 */
export function withEvent<T>(event: CloudEvent, name: string, fn: () => Promise<T>): Promise<T> {
  const scope = currentScope();
  if (!scope?.tracer) return fn();
  const { correlationIds: _, ...mine } = scope;
  return inScope({ ...mine, correlationId: event.correlationid }, () =>
    inSpan(
      scope.tracer as Tracer,
      name,
      { kind: SpanKind.CONSUMER, attributes: { 'hls.event_type': event.type } },
      () => fn(),
      contextFrom(event),
    ),
  );
}

/** A span per trace that the events continue (a child of each), or one span linking them when there are many. */
function spansPerTrace(obs: ServiceObservability, name: string, kind: SpanKind, events: CloudEvent[]) {
  const byParent = new Map<string, CloudEvent[]>();
  for (const e of events) {
    if (!e.traceparent) continue;
    const list = byParent.get(e.traceparent) ?? [];
    list.push(e);
    byParent.set(e.traceparent, list);
  }
  const byTrace = new Map<string, Span>();
  let fallback: Span | null = null;
  const attributes = { 'messaging.system': 'kafka', 'messaging.batch.message_count': events.length };
  if (byParent.size > 0 && byParent.size <= SPANS_PER_BATCH) {
    for (const [traceparent, list] of byParent)
      byTrace.set(traceparent, obs.tracer.startSpan(name, { kind, attributes }, contextFrom(list[0])));
  } else {
    const links: Link[] = [...byParent.values()]
      .slice(0, 128)
      .map((list) => trace.getSpanContext(contextFrom(list[0])))
      .filter((c) => c !== undefined)
      .map((c) => ({ context: c }));
    fallback = obs.tracer.startSpan(name, { kind, attributes, links }, ROOT_CONTEXT);
  }
  const all = () => [...byTrace.values(), ...(fallback ? [fallback] : [])];
  return {
    byTrace,
    fallback,
    fail(e: unknown) {
      for (const s of all()) {
        s.setAttribute('error.type', (e as Error)?.name ?? 'Error');
        s.setStatus({ code: SpanStatusCode.ERROR });
      }
    },
    end() {
      for (const s of all()) s.end();
    },
  };
}
