import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { Tracer } from '@opentelemetry/api';

/**
 * Which service is at work, and for which command: follows the work through awaits, so every log line knows
 * both without being handed them. Several services share one process in the embedded default, so the service
 * is part of the scope, not of the process.
 */
export interface Scope {
  service: string;
  correlationId?: string;
  /** A batch that carries several commands' events names them all. */
  correlationIds?: string[];
  /** The service's tracer, for work that knows the scope but not the service. */
  tracer?: Tracer;
}

const scopes = new AsyncLocalStorage<Scope>();

export function currentScope(): Scope | undefined {
  return scopes.getStore();
}

export function inScope<T>(scope: Scope, fn: () => T): T {
  return scopes.run(scope, fn);
}

const CORRELATION = /^[A-Za-z0-9-]{8,64}$/;

/** The caller's correlation id when it is one we accept (it goes into logs and events), else a new one. */
export function correlationIdFrom(given: unknown): string {
  return typeof given === 'string' && CORRELATION.test(given) ? given : randomUUID();
}
