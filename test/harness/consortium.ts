import { randomBytes } from 'node:crypto';
import { Consortium, loadConsortium } from '@app/consortium';
import { InProcessBus } from '@app/messaging';
import { Actor, Role, TokenKeys } from '@app/platform';
import {
  ConsortiumOptions,
  RunningConsortium,
  startConsortium,
} from '../../apps/consortium/src/consortium-runner';
import { organisationsOf } from '../../apps/consortium/src/secrets';
import { DERIVED_TABLES } from '../../apps/projection-service/src/shared/read-models';
import { eventually, harnessState, testBus, uniqueSchema } from './index';

export type TestSetting = 'real' | 'embedded';

/**
 * The North Edinburgh consortium in schemas of its own: 'real' on the test database and bus (PostgreSQL and
 * Kafka where they are here), 'embedded' as `npm start` runs it (PGlite and the in-process bus).
 */
export async function startTestConsortium(
  setting: TestSetting = 'real',
  overrides: Partial<Consortium> = {},
  options: Pick<ConsortiumOptions, 'webhooks' | 'clock' | 'portal'> = {},
): Promise<RunningConsortium> {
  const consortium = loadConsortium();
  // A consortium id of its own keeps this run's topics apart from any other on the shared mock cluster.
  const isolated = { ...consortium, ...overrides, id: `${consortium.id}-${randomBytes(3).toString('hex')}` };
  return startConsortium({
    consortium: isolated,
    secrets: {
      tokenKeys: TokenKeys.generate(organisationsOf(isolated)),
      matchingSecret: randomBytes(32).toString('base64url'),
    },
    databaseUrl: setting === 'real' ? harnessState().databaseUrl : harnessState().embeddedUrl,
    bus: setting === 'real' ? testBus(isolated.id) : new InProcessBus(isolated.id),
    schemaPrefix: `${uniqueSchema('c')}_`,
    ...options,
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

/**
 * Where a read model's rows depend on how the events came (the Kafka partition of each batch) or on when
 * evidence was last composed (digests kept to save work), what they say regardless: that is what must match.
 */
const AS_COMPARED: Record<string, (schema: string) => string | null> = {
  source_positions: (s) =>
    `SELECT partner, max(high_position) AS high, sum(events) AS events FROM ${s}.source_positions GROUP BY 1`,
  provenance_blocks: (s) =>
    `SELECT partner, block, sum(events) AS events FROM ${s}.provenance_blocks GROUP BY 1, 2`,
  provenance_digests: () => null,
};

/** A checksum of every read model built from events, to compare a rebuilt projection with the one it replaced. */
export async function readModelChecksum(c: RunningConsortium): Promise<string> {
  const schema = c.schemaOf('projection');
  const parts: string[] = [];
  for (const table of DERIVED_TABLES) {
    const rows = table in AS_COMPARED ? AS_COMPARED[table](schema) : `SELECT * FROM ${schema}.${table}`;
    if (rows === null) continue;
    const [{ sum }] = await c.projection.dataSource.query(
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum FROM (${rows}) t`,
    );
    parts.push(`${table}:${sum}`);
  }
  return parts.join(',');
}
