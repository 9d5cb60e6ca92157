import {
  Context,
  context,
  Link,
  propagation,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanStatusCode,
  Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResult, ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ReadableSpan,
  SimpleSpanProcessor,
  SpanExporter,
  SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/**
 * Traces: one tracer provider per service (its `service.name`), all exporting to one pluggable exporter, and
 * one context manager for the process, so that a span started in a request is the parent of what the request
 * awaits. The W3C trace context crosses HTTP in `traceparent`/`tracestate` headers, and Kafka in the same
 * attributes of the CloudEvent (its distributed-tracing extension), put there from the event's metadata.
 */
export type TraceExporterChoice = 'memory' | 'console' | 'none';

export interface TraceSettings {
  /** Where finished spans go. Default: the last 2,000 kept in memory (see recentSpans()). */
  exporter?: SpanExporter | TraceExporterChoice;
}

/** Keeps the most recent finished spans; the default exporter, and a cheap one. */
export class RecentSpansExporter implements SpanExporter {
  private spans: ReadableSpan[] = [];
  constructor(private readonly keep = 2000) {}
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    for (const span of spans) this.spans.push(span);
    // Trimmed now and then, not on every span: keeping the newest costs nothing per request.
    if (this.spans.length > 2 * this.keep) this.spans = this.spans.slice(-this.keep);
    done({ code: ExportResultCode.SUCCESS });
  }
  finished(): ReadableSpan[] {
    return this.spans.slice(-this.keep);
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

let processor: SpanProcessor | null = null;
let recent: RecentSpansExporter | null = null;
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/** Chooses the exporter for services started after this call. */
export function configureTracing(s: TraceSettings): void {
  install();
  processor = processorFor(s.exporter ?? 'memory');
}

function processorFor(choice: SpanExporter | TraceExporterChoice): SpanProcessor | null {
  if (choice === 'none') return null;
  if (choice === 'console') return new BatchSpanProcessor(new ConsoleSpanExporter());
  if (choice === 'memory') {
    recent ??= new RecentSpansExporter();
    return new SimpleSpanProcessor(recent);
  }
  // A test's exporter sees each span as it ends; a real one is batched off the request's path.
  return new SimpleSpanProcessor(choice);
}

/** The spans the default exporter kept. */
export function recentSpans(): ReadableSpan[] {
  return recent?.finished() ?? [];
}

/** A service's tracer: its spans name the service. */
export function tracerFor(service: string): { tracer: Tracer; shutdown(): Promise<void> } {
  install();
  processor ??= processorFor('memory');
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: processor ? [sharedProcessor(processor)] : [],
  });
  return { tracer: provider.getTracer('hls'), shutdown: () => provider.shutdown() };
}

/** Each provider shuts its processors down; the shared exporter must outlive any one service. */
function sharedProcessor(p: SpanProcessor): SpanProcessor {
  return {
    onStart: (span, ctx) => p.onStart(span, ctx),
    onEnd: (span) => p.onEnd(span),
    forceFlush: () => p.forceFlush(),
    shutdown: () => p.forceFlush(),
  };
}

/** The W3C trace context of the active span, as `traceparent` (and `tracestate`), or nothing outside a trace. */
export function currentTraceContext(ctx: Context = context.active()): {
  traceparent?: string;
  tracestate?: string;
} {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return {
    ...(carrier.traceparent ? { traceparent: carrier.traceparent } : {}),
    ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}),
  };
}

/** The context a `traceparent` (and `tracestate`) names, to continue its trace; the root context without one. */
export function contextFrom(carrier: { traceparent?: unknown; tracestate?: unknown }): Context {
  if (typeof carrier.traceparent !== 'string') return ROOT_CONTEXT;
  const c: Record<string, string> = { traceparent: carrier.traceparent };
  if (typeof carrier.tracestate === 'string') c.tracestate = carrier.tracestate;
  return propagation.extract(ROOT_CONTEXT, c);
}

/** Runs fn in a new active span (a child of `parent`, or of the active span); records a throw and ends it. */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: { kind?: SpanKind; attributes?: Record<string, string | number | boolean>; links?: Link[] },
  fn: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  const span = tracer.startSpan(name, options, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (e) {
    // The error's kind only: a message may name a record (a stream id holds a consortium reference).
    const kind = (e as Error)?.name ?? 'Error';
    span.setAttribute('error.type', kind);
    span.setStatus({ code: SpanStatusCode.ERROR, message: kind });
    throw e;
  } finally {
    span.end();
  }
}

export { SpanKind };
