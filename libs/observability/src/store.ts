import {
  AppendResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  WrongExpectedVersionError,
} from '@app/event-store';
import { SpanKind } from '@opentelemetry/api';
import { ServiceObservability } from './observability';
import { currentTraceContext, inSpan } from './tracing';

/**
 * The event store as the service uses it: each append is a span, counted, and each event records the append's
 * trace context in its metadata (`traceparent`, `tracestate`), so the relay that publishes it later continues
 * the same trace. Span attributes name event types and counts, never a stream (its id holds a reference).
 */
export function observeStore<S extends EventStore>(obs: ServiceObservability, store: S): S {
  const append = (streamId: string, expected: ExpectedVersion, events: NewEvent[]): Promise<AppendResult> =>
    inSpan(
      obs.tracer,
      'append',
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          'hls.events': events.length,
          'hls.event_types': [...new Set(events.map((e) => e.type))].join(','),
        },
      },
      async () => {
        const tc = currentTraceContext();
        const traced = events.map((e) => ({ ...e, metadata: { ...e.metadata, ...tc } }));
        try {
          const result = await store.append(streamId, expected, traced);
          obs.metrics.appends.inc({ outcome: 'appended' });
          obs.metrics.appendedEvents.inc(events.length);
          return result;
        } catch (e) {
          obs.metrics.appends.inc({
            outcome: e instanceof WrongExpectedVersionError ? 'conflict' : 'failed',
          });
          throw e;
        }
      },
    );
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'append') return append;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
