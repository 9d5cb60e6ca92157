import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { loadConsortium } from '@app/consortium';
import { configureObservabilityFromEnv } from '@app/observability';
import { startConsortium } from './consortium-runner';
import { demoTokens, demoUsers } from './demo';
import { loadSecrets, secretsFromEnv } from './secrets';
import { seedWorkedExample } from './worked-example';

/**
 * `npm start`: the whole consortium in one process. With no DATABASE_URL it runs on embedded PostgreSQL in
 * ./.data; with no KAFKA_BROKERS on the in-process bus. Ports from HLS_PORT (default 4000 and up).
 */
async function main() {
  configureObservabilityFromEnv();
  const consortium = loadConsortium();
  const dataDir = resolve(process.env.HLS_DATA_DIR ?? '.data');
  const secrets = secretsFromEnv() ?? loadSecrets(resolve(dataDir, 'secrets.json'), consortium);
  // The demo users' password: HLS_DEMO_PASSWORD, or a fresh one each start (printed below), never a fixed one.
  const demoPassword = process.env.HLS_DEMO_PASSWORD || randomBytes(9).toString('base64url');
  const running = await startConsortium({
    portal: {
      demoPassword,
      portalPort: process.env.HLS_PORTAL_PORT ? Number(process.env.HLS_PORTAL_PORT) : undefined,
      secureCookies: process.env.HLS_SECURE_COOKIES === 'true',
    },
    consortium,
    secrets,
    databaseUrl: process.env.DATABASE_URL,
    dataDir: resolve(dataDir, 'pglite'),
    basePort: Number(process.env.HLS_PORT ?? 4000),
    host: process.env.HLS_HOST ?? '127.0.0.1',
  });
  const tokens = await demoTokens(consortium, running.tokenKeys);
  const seeded = await seedWorkedExample(running, tokens);

  const lines = [
    '',
    `${consortium.name} is running (${consortium.place})`,
    '',
    `  open this: the portal  ${running.portal.url}/sign-in`,
    `  sign in as any demo user below with the password: ${demoPassword}`,
    '',
    `  database: ${running.embedded ? `embedded PostgreSQL (PGlite) in ${dataDir}` : 'PostgreSQL at DATABASE_URL'}`,
    `  backbone: ${running.busKind === 'kafka' ? 'Kafka at KAFKA_BROKERS' : 'in-process bus (set KAFKA_BROKERS for Kafka)'}`,
    '',
    `  projection service (journeys, inboxes)  ${running.projection.url}`,
    ...[...running.partners.values()].map((p) => `  partner service: ${p.partnerId.padEnd(22)} ${p.url}`),
    '',
    seeded ? `  worked example: ${seeded} (Kayleigh), registered at Fresh Start, referred to Spartans` : '',
    '  demo users (user name, role) and their bearer tokens for the APIs (valid 30 days):',
    ...demoUsers(consortium).map(
      (u) => `    ${u.userId.padEnd(32)} ${u.role.padEnd(17)} ${tokens.get(u.userId)}`,
    ),
    '',
    '  try:',
    `    curl -H "Authorization: Bearer $TOKEN" ${running.projection.url}/referrals/inbox`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return; // a second signal while stopping: the first stop finishes what it started
    stopping = true;
    await running.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
