import { LoggerService } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import pino, { DestinationStream, Level, Logger } from 'pino';
import { currentScope } from './scope';

/**
 * One JSON line per event, through pino. Every line says which service wrote it and, while a command or an
 * event is being handled, its correlation id and trace and span ids. Nothing personal is ever logged: no
 * request bodies, no query strings, no paths with a consortium reference in them (the route's pattern
 * instead), no names. See docs/observability.md for the fields.
 */
export interface LogSettings {
  /** Where the lines go: standard output unless a test captures them. */
  destination?: DestinationStream;
  /** `warn` unless set: a library quiet by default; the services' entry points set `info`. */
  level?: Level;
}

let settings: LogSettings = {};
let root: Logger | null = null;

export function configureLogging(next: LogSettings): void {
  settings = { ...settings, ...next };
  root = null;
}

/** The process's logger: the scope's service, correlation id and trace are added to every line. */
export function logger(): Logger {
  root ??= pino(
    {
      level: settings.level ?? (process.env.HLS_LOG === 'debug' ? 'debug' : 'warn'),
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Bearer tokens and cookies never reach a line, even if a caller logs headers by mistake.
      redact: {
        paths: ['authorization', 'cookie', '*.authorization', '*.cookie', 'headers.*'],
        censor: '[redacted]',
      },
      mixin() {
        const scope = currentScope();
        const span = trace.getActiveSpan()?.spanContext();
        return {
          ...(scope?.service ? { service: scope.service } : {}),
          ...(scope?.correlationId ? { correlationId: scope.correlationId } : {}),
          ...(scope?.correlationIds ? { correlationIds: scope.correlationIds } : {}),
          ...(span ? { traceId: span.traceId, spanId: span.spanId } : {}),
        };
      },
    },
    settings.destination ?? pino.destination({ dest: 1, sync: true }),
  );
  return root;
}

/** Nest's start-up chatter (modules loaded, routes mapped) is for debugging only. */
const STARTUP = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);

/** Nest's logger, writing through pino: the framework's and the services' `new Logger(...)` lines alike. */
export class PinoNestLogger implements LoggerService {
  log(message: unknown, context?: string) {
    if (context && STARTUP.has(context)) this.write('debug', message, context);
    else this.write('info', message, context);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.write('error', message, contextOf(rest));
  }
  warn(message: unknown, context?: string) {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string) {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string) {
    this.write('trace', message, context);
  }
  fatal(message: unknown, context?: string) {
    this.write('fatal', message, context);
  }

  private write(level: Level, message: unknown, context?: string) {
    const log = logger();
    if (!log.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (message instanceof Error)
      log[level]({ ...fields, err: { name: message.name, message: message.message } });
    else log[level](fields, typeof message === 'string' ? message : JSON.stringify(message));
  }
}

/** Nest passes a stack and then a context to error(); the context is the last string. */
function contextOf(rest: unknown[]): string | undefined {
  const last = rest[rest.length - 1];
  return typeof last === 'string' && !last.includes('\n') ? last : undefined;
}
