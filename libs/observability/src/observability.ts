import { HttpObserver, METRICS, MetricsController, MetricsSource, READINESS } from '@app/platform';
import { Global, Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { context, SpanKind, SpanStatusCode, Tracer, trace } from '@opentelemetry/api';
import { Request, Response } from 'express';
import { observeCommands } from './commands';
import { DependencyCheck, TerminusReadiness } from './health';
import { configureLogging, LogSettings, logger, PinoNestLogger } from './logging';
import { ServiceMetrics } from './metrics';
import { correlationIdFrom, currentScope, inScope, Scope } from './scope';
import { configureTracing, contextFrom, currentTraceContext, TraceSettings, tracerFor } from './tracing';

export interface ObservabilitySettings {
  logs?: LogSettings;
  traces?: TraceSettings;
  /**
   * When set, /metrics answers only a request with `Authorization: Bearer <token>` (HLS_METRICS_TOKEN in the
   * services' entry points); without one it is open to whoever can reach the port (see docs/observability.md).
   */
  scrapeToken?: string;
}

let scrapeToken: string | undefined;
const NEST_LOGGER = new PinoNestLogger();

/** Settings for every service started after this call: where logs and spans go, the scrape token. */
export function configureObservability(s: ObservabilitySettings): void {
  if (s.logs) configureLogging(s.logs);
  if (s.traces) configureTracing(s.traces);
  if ('scrapeToken' in s) scrapeToken = s.scrapeToken || undefined;
}

/** From the environment, for a service's entry point (see docs/observability.md). */
export function configureObservabilityFromEnv(env = process.env): void {
  const exporter = env.HLS_TRACE_EXPORTER;
  configureObservability({
    logs: { level: env.HLS_LOG === 'debug' ? 'debug' : levelFrom(env.HLS_LOG_LEVEL) },
    traces: { exporter: exporter === 'console' || exporter === 'none' ? exporter : 'memory' },
    scrapeToken: env.HLS_METRICS_TOKEN,
  });
}

/** A level pino knows, or `info`: a mistyped setting must not stop a service from starting. */
function levelFrom(given: string | undefined): 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
  return levels.find((l) => l === given) ?? 'info';
}

/** Requests a probe or a scraper makes: counted, never logged above debug nor traced. */
const QUIET = /^\/(health|metrics)(\/|$)/;
const REFERENCE = /^[A-Z]{2,4}-[0-9A-HJKMNP-TV-Z]{10}$/;

/**
 * One service's logs, metrics, traces and readiness. Everything it observes is labelled with the service, and
 * work done for it (a request, a batch from Kafka) runs in its scope, so log lines carry the correlation id.
 */
export class ServiceObservability {
  readonly metrics: ServiceMetrics;
  readonly tracer: Tracer;
  private readonly checks: DependencyCheck[] = [];
  private readonly shutdownTracer: () => Promise<void>;

  constructor(readonly service: string) {
    this.metrics = new ServiceMetrics(service);
    // Every Nest logger in the process writes JSON through pino from now on, also before any app exists.
    Logger.overrideLogger(NEST_LOGGER);
    const t = tracerFor(service);
    this.tracer = t.tracer;
    this.shutdownTracer = t.shutdown;
  }

  get log() {
    return logger();
  }

  /** Runs work for this service (a timer, a loop started outside any request) in its scope. */
  run<T>(fn: () => T, correlationId?: string): T {
    return inScope(this.scope(correlationId), fn);
  }

  scope(correlationId?: string): Scope {
    return { service: this.service, tracer: this.tracer, ...(correlationId ? { correlationId } : {}) };
  }

  /** What /health/ready asks, in addition to any check added before. */
  addChecks(...checks: DependencyCheck[]): this {
    this.checks.push(...checks);
    return this;
  }

  /** What `listen()` takes: the /metrics and /health/ready module, the request middleware, the logger. */
  http(): HttpObserver {
    return { module: this.module(), middleware: this.middleware(), logger: NEST_LOGGER };
  }

  private readonly closing: (() => void)[] = [];

  /** Something to undo when the service stops (a watcher, a timer). */
  onClose(fn: () => void): void {
    this.closing.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.closing.splice(0)) fn();
    this.metrics.registry.clear();
    await this.shutdownTracer();
  }

  /**
   * Before anything else on every request: the correlation id (the caller's `x-correlation-id` if it is a
   * sensible one, else a new one, put back on the request so the command takes the same), the server span
   * (continuing the caller's `traceparent`), and one log line when it is answered, by route pattern: a path
   * may hold a consortium reference, and query strings and bodies may hold anything.
   */
  middleware(): HttpObserver['middleware'] {
    return (req: Request, res: Response, next: () => void) => {
      const quiet = QUIET.test(req.path);
      const correlationId = correlationIdFrom(req.headers['x-correlation-id']);
      req.headers['x-correlation-id'] = correlationId;
      res.setHeader('x-correlation-id', correlationId);
      const scope = this.scope(correlationId);
      const started = process.hrtime.bigint();
      const parent = contextFrom(req.headers as { traceparent?: unknown; tracestate?: unknown });
      const span = quiet
        ? null
        : this.tracer.startSpan(
            `${req.method}`,
            { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } },
            parent,
          );
      const ctx = span ? trace.setSpan(parent, span) : parent;
      res.on('finish', () => {
        const route = routeOf(req);
        const status = res.statusCode;
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.metrics.httpRequests.observe({ method: req.method, route, status: String(status) }, seconds);
        inScope(scope, () =>
          context.with(ctx, () => {
            const fields = { method: req.method, route, status, durationMs: Math.round(seconds * 1000) };
            if (quiet) this.log.debug(fields, 'answered');
            else if (status >= 500) this.log.error(fields, 'answered');
            else this.log.info(fields, 'answered');
          }),
        );
        if (span) {
          span.updateName(`${req.method} ${route}`);
          span.setAttribute('http.route', route);
          span.setAttribute('http.response.status_code', status);
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        }
      });
      inScope(scope, () => context.with(ctx, next));
    };
  }

  private module(): unknown {
    const obs = this;
    const metrics: MetricsSource = {
      contentType: obs.metrics.registry.contentType,
      render: () => obs.metrics.render(),
      mayScrape: (authorization) => !scrapeToken || authorization === `Bearer ${scrapeToken}`,
    };
    // A service with a CQRS command bus has its commands counted and traced, from before it takes requests.
    @Injectable()
    class CommandObserver implements OnModuleInit {
      constructor(private readonly ref: ModuleRef) {}
      onModuleInit() {
        let bus: CommandBus | undefined;
        try {
          bus = this.ref.get(CommandBus, { strict: false });
        } catch {
          return;
        }
        observeCommands(obs, bus as unknown as { execute(c: object): Promise<unknown> });
      }
    }
    @Global()
    @Module({
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [MetricsController],
      providers: [
        CommandObserver,
        { provide: METRICS, useValue: metrics },
        {
          provide: READINESS,
          inject: [HealthCheckService, HealthIndicatorService],
          useFactory: (health: HealthCheckService, indicators: HealthIndicatorService) =>
            new TerminusReadiness(health, indicators, obs.checks, (down) =>
              obs.run(() => obs.log.warn({ down }, `not ready: ${down.join(', ')} down`)),
            ),
        },
      ],
      exports: [METRICS, READINESS],
    })
    class ObservabilityModule {}
    return ObservabilityModule;
  }
}

/** The route's pattern (`/people/:personRef/consents`), or the path with any consortium reference hidden. */
function routeOf(req: Request): string {
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof pattern === 'string') return `${req.baseUrl ?? ''}${pattern}`;
  return req.path
    .split('/')
    .map((s) => (REFERENCE.test(s) ? ':personRef' : s))
    .join('/')
    .slice(0, 200);
}

/** Headers for a call to another service: its spans continue this trace, its logs carry this correlation id. */
export function outgoingHeaders(): Record<string, string> {
  const scope = currentScope();
  const tc = currentTraceContext();
  return {
    ...(scope?.correlationId ? { 'x-correlation-id': scope.correlationId } : {}),
    ...(tc.traceparent ? { traceparent: tc.traceparent } : {}),
    ...(tc.tracestate ? { tracestate: tc.tracestate } : {}),
  };
}
