import { outgoingHeaders } from '@app/observability';
import { Actor } from '@app/platform';
import { Inject, Injectable } from '@nestjs/common';
import { PORTAL_RUNTIME, PortalRuntime } from './portal-runtime';

/** One field at fault, as the services' RFC 9457 problems name it. */
export interface ApiFieldError {
  field: string;
  reason: string;
}

export interface ApiProblem {
  status: number;
  title: string;
  detail: string;
  errors: ApiFieldError[];
}

export type ApiResult<T> = { ok: true; status: number; body: T } | { ok: false; problem: ApiProblem };

/**
 * Thrown for an answer a page cannot turn into form errors (403, 404, 410, 5xx, or a service that cannot be
 * reached); the page filter renders it as the matching page.
 */
export class ServiceFailure extends Error {
  constructor(readonly problem: ApiProblem) {
    super(problem.detail);
    this.name = 'ServiceFailure';
  }
}

/** The calls one signed-in user makes, each with a bearer token signed for that user. */
export interface UserServices {
  /** A call to the user's own partner's service (a worker acts only through their own partner). */
  partner<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<ApiResult<T>>;
  projection<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<ApiResult<T>>;
  /** A file the projection service serves (a pack's HTML, PDF or CSV), as bytes with its content headers. */
  projectionFile(path: string): Promise<ApiResult<ServiceFile>>;
}

export interface ServiceFile {
  contentType: string;
  disposition: string | null;
  bytes: Buffer;
}

/**
 * The portal's only way to the services: over HTTP, as the signed-in user. The portal holds no domain rules;
 * what a user may do is decided by the service, and its answer is shown as it comes.
 */
@Injectable()
export class Services {
  constructor(@Inject(PORTAL_RUNTIME) private readonly runtime: PortalRuntime) {}

  as(actor: Actor): UserServices {
    // Short-lived: a token only carries one page's calls.
    const token = () => this.runtime.tokenKeys.sign(actor, '5m');
    return {
      partner: async (method, path, body) => {
        const base = this.runtime.partnerUrls[actor.organisation];
        if (!base)
          return fail(403, 'Forbidden', `${actor.organisation} has no partner service in this consortium`);
        return call(base, method, path, await token(), body);
      },
      projection: async (method, path, body) =>
        call(this.runtime.projectionUrl, method, path, await token(), body),
      projectionFile: async (path) => {
        const res = await send(this.runtime.projectionUrl, 'GET', path, await token(), undefined, '*/*');
        if (!(res instanceof Response) || !res.ok) return answer(res);
        return {
          ok: true,
          status: res.status,
          body: {
            contentType: res.headers.get('content-type') ?? 'application/octet-stream',
            disposition: res.headers.get('content-disposition'),
            bytes: Buffer.from(await res.arrayBuffer()),
          },
        };
      },
    };
  }
}

function fail(status: number, title: string, detail: string): { ok: false; problem: ApiProblem } {
  return { ok: false, problem: { status, title, detail, errors: [] } };
}

async function send(
  base: string,
  method: string,
  path: string,
  token: string,
  body: unknown,
  accept = 'application/json',
): Promise<Response | { ok: false; problem: ApiProblem }> {
  try {
    return await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept,
        // The service's spans and log lines continue this page's trace and correlation id.
        ...outgoingHeaders(),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    return fail(503, 'Service unavailable', 'A service the portal depends on cannot be reached just now.');
  }
}

async function call<T>(
  base: string,
  method: string,
  path: string,
  token: string,
  body: unknown,
): Promise<ApiResult<T>> {
  return answer<T>(await send(base, method, path, token, body));
}

async function answer<T>(res: Response | { ok: false; problem: ApiProblem }): Promise<ApiResult<T>> {
  if (!(res instanceof Response)) return res;
  const text = await res.text();
  let parsed: unknown = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = { detail: text };
  }
  if (res.ok) return { ok: true, status: res.status, body: parsed as T };
  const p = parsed as Partial<ApiProblem>;
  return {
    ok: false,
    problem: {
      status: res.status,
      title: String(p.title ?? res.statusText),
      detail: String(p.detail ?? res.statusText),
      errors: Array.isArray(p.errors) ? p.errors : [],
    },
  };
}

/** The body of a successful answer; anything else becomes the matching error page. */
export function ok<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new ServiceFailure(result.problem);
  return result.body;
}
