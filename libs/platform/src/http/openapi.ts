import { ZodTypeAny } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { ACCESS_RULES, Action } from './access';

/** One route as the API description tells it: the controllers and this table are checked against each other. */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'delete';
  /** OpenAPI style: /people/{personRef}/consents */
  path: string;
  action: Action | 'public';
  summary: string;
  body?: ZodTypeAny;
  /** The success status and what it answers. */
  success: [number, string];
}

const problem = {
  description: 'RFC 9457 problem details',
  content: {
    'application/problem+json': {
      schema: {
        type: 'object',
        required: ['type', 'title', 'status', 'detail'],
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          errors: {
            type: 'array',
            items: { type: 'object', properties: { field: { type: 'string' }, reason: { type: 'string' } } },
          },
        },
      },
    },
  },
};

/** The routes every service has. */
const EVERY_SERVICE: RouteDoc[] = [
  { method: 'get', path: '/health', action: 'public', summary: 'Liveness', success: [200, 'ok'] },
  { method: 'get', path: '/health/live', action: 'public', summary: 'Liveness', success: [200, 'ok'] },
  {
    method: 'get',
    path: '/health/ready',
    action: 'public',
    summary: 'Readiness: PostgreSQL, Kafka and the key store answer (503 names those that do not)',
    success: [200, 'every check up'],
  },
  {
    method: 'get',
    path: '/metrics',
    action: 'public',
    summary: 'Prometheus metrics (a scrape token where the service has one)',
    success: [200, 'Prometheus text format'],
  },
  {
    method: 'get',
    path: '/openapi.json',
    action: 'public',
    summary: 'This description',
    success: [200, 'OpenAPI 3.1'],
  },
];

/** An OpenAPI 3.1 document for a service, built from its route table and the same zod schemas that validate. */
export function openApiDocument(title: string, version: string, routes: RouteDoc[]): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of [...routes, ...EVERY_SERVICE]) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const rule = r.action === 'public' ? null : ACCESS_RULES[r.action];
    paths[r.path] ??= {};
    paths[r.path][r.method] = {
      summary: r.summary,
      description: rule ? `Roles: ${rule.roles.join(', ')}. Scope: ${rule.scope}.` : 'No token needed.',
      ...(rule ? { security: [{ bearer: [] }], 'x-action': r.action } : { security: [] }),
      parameters: params,
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchemaOf(r.body) } },
            },
          }
        : {}),
      responses: {
        [r.success[0]]: { description: r.success[1] },
        ...(rule ? { 401: problem, 403: problem } : {}),
        ...(r.body || params.length ? { 400: problem } : {}),
        ...(params.length ? { 404: problem } : {}),
        ...(r.method !== 'get' ? { 409: problem } : {}),
        503: problem,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title, version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    paths,
  };
}

/** The JSON Schema of a request body, from the zod schema that validates it. */
function jsonSchemaOf(schema: ZodTypeAny): object {
  // The converter's generic types recurse too deeply for the compiler on large schemas; its result is plain JSON.
  const convert = zodToJsonSchema as unknown as (s: ZodTypeAny, o: object) => object;
  return convert(schema, { target: 'openApi3', $refStrategy: 'none' });
}
