import { randomBytes } from 'node:crypto';
import { loadConsortium } from '@app/consortium';
import { Actor, Role, TokenKeys } from '@app/platform';
import { RunningConsortium, startConsortium } from '../../apps/consortium/src/consortium-runner';
import { organisationsOf } from '../../apps/consortium/src/secrets';
import { eventually, harnessState, testBus, uniqueSchema } from './index';

/** The North Edinburgh consortium, on the test database and bus, in schemas of its own. */
export async function startTestConsortium(): Promise<RunningConsortium> {
  const consortium = loadConsortium();
  // A consortium id of its own keeps this run's topics apart from any other on the shared mock cluster.
  const isolated = { ...consortium, id: `${consortium.id}-${randomBytes(3).toString('hex')}` };
  return startConsortium({
    consortium: isolated,
    secrets: {
      tokenKeys: TokenKeys.generate(organisationsOf(isolated)),
      matchingSecret: randomBytes(32).toString('base64url'),
    },
    databaseUrl: harnessState().databaseUrl,
    bus: testBus(isolated.id),
    schemaPrefix: `${uniqueSchema('c')}_`,
  });
}

export interface ApiResponse {
  status: number;
  body: Record<string, unknown> & { [k: string]: unknown };
  contentType: string;
}

/** Calls a service as a user would: JSON over HTTP, with a bearer token. */
export async function api(
  baseUrl: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  rawBody?: string,
): Promise<ApiResponse> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined || rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  let parsed: ApiResponse['body'] = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed, contentType: res.headers.get('content-type') ?? '' };
}

export function tokenFor(
  c: RunningConsortium,
  organisation: string,
  role: Role = 'worker',
  userId?: string,
): Promise<string> {
  const actor: Actor = {
    userId: userId ?? `${organisation}-${role}`,
    name: `${organisation} ${role}`,
    organisation,
    role,
  };
  return c.tokenKeys.sign(actor);
}

/** Waits until the projection has taken every event that every partner has recorded. */
export async function settled(c: RunningConsortium): Promise<number> {
  let recorded = 0;
  for (const p of c.partners.values()) {
    const [{ n }] = await c.projection.dataSource.query(
      `SELECT count(*)::int AS n FROM ${c.schemaOf(`partner_${p.partnerId}`)}.events`,
    );
    recorded += n;
  }
  return eventually(async () => {
    const [{ n }] = await c.projection.dataSource.query(
      `SELECT count(*)::int AS n FROM ${c.schemaOf('projection')}.processed_events`,
    );
    return n >= recorded ? n : undefined;
  }, `the projection to take all ${recorded} events`);
}
