import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { Response } from 'express';
import { ZodError, ZodTypeAny, z } from 'zod';
import { isConnectionFault, UnavailableError } from '../errors';

/** One field at fault and why, as RFC 9457 problem details carry it in `errors`. */
export interface FieldError {
  field: string;
  reason: string;
}

/** An error the API answers with an RFC 9457 problem: status, a short title and what to do about it. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
    this.name = 'Problem';
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) =>
  new Problem(400, 'Bad request', detail, errors);
export const forbidden = (detail: string) => new Problem(403, 'Forbidden', detail);
export const notFound = (detail: string) => new Problem(404, 'Not found', detail);

/** Parses a request body (or query) with a schema; a failure is a 400 naming each field and the reason. */
export function parseInput<S extends ZodTypeAny>(
  schema: S,
  input: unknown,
  what = 'request body',
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors = fieldErrors(result.error, what === 'request body' ? '(body)' : what);
  throw badRequest(`The ${what} is not valid: ${summarise(errors)}`, errors);
}

/** Each issue as a field and a reason; an issue with no path is about the whole input, named `whole`. */
function fieldErrors(error: ZodError, whole: string): FieldError[] {
  return error.issues.map((i) => ({ field: i.path.join('.') || whole, reason: i.message }));
}

function summarise(errors: FieldError[]): string {
  return errors
    .slice(0, 5)
    .map((e) => `${e.field}: ${e.reason}`)
    .join('; ');
}

/** Each error type a service can meet, turned into a problem; anything unknown is a 500 without internals. */
export type ProblemMapper = (e: unknown) => Problem | null;

export function problemFilter(...mappers: ProblemMapper[]): ExceptionFilter {
  const logger = new Logger('http');
  @Catch()
  class ProblemFilter implements ExceptionFilter {
    catch(e: unknown, host: ArgumentsHost) {
      const res = host.switchToHttp().getResponse<Response>();
      const problem = toProblem(e, mappers);
      if (problem.status >= 500) logger.error(describe(e));
      res
        .status(problem.status)
        .type('application/problem+json')
        .send({
          type: 'about:blank',
          title: problem.title,
          status: problem.status,
          detail: problem.detail,
          ...(problem.errors ? { errors: problem.errors } : {}),
        });
    }
  }
  return new ProblemFilter();
}

/** An error with its chain of causes, for the operator's log (never for the response). */
function describe(e: unknown): string {
  const parts: string[] = [];
  for (let x: unknown = e; x; x = (x as { cause?: unknown }).cause) {
    parts.push(x instanceof Error ? `${x.name}: ${x.message}` : String(x));
    if (parts.length > 5) break;
  }
  return parts.join(' <- caused by: ');
}

function toProblem(e: unknown, mappers: ProblemMapper[]): Problem {
  if (e instanceof Problem) return e;
  for (const map of mappers) {
    const p = map(e);
    if (p) return p;
  }
  if (e instanceof UnavailableError) return new Problem(503, 'Service unavailable', e.message);
  // A database that went away under an ORM or a query: the caller may try again; nothing half-done stays.
  if (isConnectionFault(e) || isConnectionFault((e as { driverError?: unknown })?.driverError)) {
    return new Problem(503, 'Service unavailable', 'A database is unavailable just now. Try again shortly.');
  }
  // Body-parser errors (malformed JSON, body too large) carry their own 4xx status and type.
  const parserError = e as { status?: number; type?: string; message?: string };
  if (parserError?.type === 'entity.parse.failed')
    return new Problem(400, 'Bad request', 'The request body is not valid JSON');
  if (parserError?.type === 'entity.too.large')
    return new Problem(413, 'Payload too large', 'The request body is too large');
  if (e instanceof HttpException) {
    const status = e.getStatus();
    if (status === 400 && /JSON/.test(e.message))
      return new Problem(400, 'Bad request', 'The request body is not valid JSON');
    return new Problem(
      status,
      e.name.replace(/Exception$/, ''),
      status === 404 ? 'There is nothing at this address' : e.message,
    );
  }
  if (typeof parserError?.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    return new Problem(
      parserError.status,
      'Bad request',
      parserError.message ?? 'The request could not be read',
    );
  }
  return new Problem(
    500,
    'Internal error',
    'Something went wrong on our side. Try again; if it keeps happening, tell your administrator.',
  );
}
