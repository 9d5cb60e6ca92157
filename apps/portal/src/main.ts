import 'reflect-metadata';
import { TokenKeys } from '@app/platform';
import { demoUsers } from '../../consortium/src/demo';
import { runService, ServiceEnv, Stoppable } from '../../consortium/src/service-env';
import { startPortal } from './portal';

/**
 * The portal on its own, for the distributed deployment (docker-compose.yml). Configured by the environment:
 *
 *   DATABASE_URL          the PostgreSQL that holds the portal's users and sessions; PORTAL_SCHEMA, default portal
 *   HLS_TOKEN_KEYS        JSON: organisation id -> base64url token signing key (it signs each user's calls)
 *   HLS_PARTNER_URLS      JSON: partner id -> its service's address
 *   PROJECTION_URL        the projection service's address
 *   HLS_SECURE_COOKIES    true where the portal is served over HTTPS (default true: set false only for local use)
 *   HLS_DEMO_PASSWORD     if set, the demo users are added with this password (never in production)
 *   HLS_PORTAL_URL        the portal's address as browsers reach it, e.g. https://portal.example.org: the start of
 *                         the redirect URIs registered at each organisation's identity provider (ADR 0009)
 *   HLS_TRUST_PROXY       which proxies to believe about the client's address (a hop count, `loopback`, or
 *                         addresses/subnets, as Express's `trust proxy`); sign-in limits count per address
 *   each variable a `signOn.clientSecretFrom` in the consortium file names: that organisation's client secret
 *   PORT (3000), HOST (0.0.0.0), HLS_CONSORTIUM_FILE (default consortium/north-edinburgh.json)
 */
export async function startPortalFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<Stoppable> {
  const e = new ServiceEnv(env);
  const consortium = e.consortium();
  const databaseUrl = e.required('DATABASE_URL', "the portal's PostgreSQL (users and sessions)");
  const schema = e.schema('PORTAL_SCHEMA', 'portal');
  const tokenKeys = e.tokenKeys(consortium);
  const partnerUrls = e.partnerUrls(consortium);
  const projectionUrl = e.required(
    'PROJECTION_URL',
    "the projection service's address, e.g. http://projection:3000",
  );
  const secureCookies = e.optional('HLS_SECURE_COOKIES', 'true') !== 'false';
  const demoPassword = env.HLS_DEMO_PASSWORD?.trim();
  const publicUrl = env.HLS_PORTAL_URL?.trim() || undefined;
  const trustProxyRaw = env.HLS_TRUST_PROXY?.trim();
  const trustProxy = !trustProxyRaw
    ? undefined
    : /^\d+$/.test(trustProxyRaw)
      ? Number(trustProxyRaw)
      : trustProxyRaw === 'true'
        ? true
        : trustProxyRaw;
  const port = e.port();
  const host = e.host();
  e.check();
  for (const w of e.warnings) console.warn(`portal: ${w}`);
  if (
    !publicUrl &&
    [...(consortium?.partners ?? []), ...(consortium?.statutoryBodies ?? [])].some((o) => o.signOn)
  )
    console.warn(
      'portal: single sign-on is configured but HLS_PORTAL_URL is not: redirect URIs use the listening address',
    );
  if (!consortium) throw new Error('no consortium file'); // reported by check() already

  const portal = await startPortal({
    consortium,
    databaseUrl,
    schema,
    tokenKeys: new TokenKeys(tokenKeys),
    partnerUrls,
    projectionUrl,
    secureCookies,
    port,
    host,
    publicUrl,
    trustProxy,
    signOnSecrets: env,
    seedUsers: demoPassword ? { users: demoUsers(consortium), password: demoPassword } : undefined,
  });
  console.log(
    `portal of ${consortium.id} is up at ${portal.url} (bound to ${host}); schema ${schema}, ` +
      `${secureCookies ? 'secure' : 'NOT secure (local use only)'} cookies`,
  );
  return portal;
}

if (require.main === module) runService('portal', () => startPortalFromEnv());
