import 'reflect-metadata';
import { KafkaBus } from '@app/messaging';
import { createPool, TokenKeys } from '@app/platform';
import { PostgresKeyStore } from '@app/privacy';
import { runService, ServiceEnv, Stoppable, startWithResources } from '../../consortium/src/service-env';
import { startProjectionService } from './projection-service';

/**
 * The projection service on its own, for the distributed deployment (docker-compose.yml). Run several with the
 * same PROJECTION_GROUP and they share the topics' partitions. Configured by the environment:
 *
 *   DATABASE_URL               the read models' PostgreSQL; PROJECTION_SCHEMA, default projection
 *   KEY_SERVICE_DATABASE_URL   the key service's PostgreSQL; KEY_SERVICE_SCHEMA, default key_service
 *   KAFKA_BROKERS              a comma list (or KAFKA_BROKERS_FILE)
 *   HLS_TOKEN_KEYS             JSON: organisation id -> base64url token signing key
 *   HLS_EVIDENCE_SIGNING_KEY   the Ed25519 key that signs evidence packs (PKCS #8 PEM, or base64 of it)
 *   HLS_PARTNER_URLS           JSON: partner id -> its service's address (evidence is checked against them)
 *   PROJECTION_GROUP           the consumer group, default <consortium id>.projection
 *   PORT (3000), HOST (0.0.0.0), HLS_CONSORTIUM_FILE (default consortium/north-edinburgh.json)
 */
export async function startProjectionFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<Stoppable> {
  const e = new ServiceEnv(env);
  const consortium = e.consortium();
  const databaseUrl = e.required(
    'DATABASE_URL',
    "the read models' PostgreSQL, e.g. postgres://user:pw@host/db",
  );
  const schema = e.schema('PROJECTION_SCHEMA', 'projection');
  const keyServiceUrl = e.required('KEY_SERVICE_DATABASE_URL', "the consortium key service's PostgreSQL");
  const keySchema = e.schema('KEY_SERVICE_SCHEMA', 'key_service');
  const brokers = e.kafkaBrokers();
  const tokenKeys = e.tokenKeys(consortium);
  const evidenceSigningKey = e.evidenceSigningKey();
  const partnerUrls = e.partnerUrls(consortium);
  const groupId = e.optional('PROJECTION_GROUP', `${consortium?.id ?? 'consortium'}.projection`);
  const port = e.port();
  const host = e.host();
  e.check();
  for (const w of e.warnings) console.warn(`projection-service: ${w}`);
  if (!consortium) throw new Error('no consortium file'); // reported by check() already

  const keyPool = createPool(keyServiceUrl, 5);
  const bus = new KafkaBus({
    clientId: `${consortium.id}.projection`,
    consortiumId: consortium.id,
    brokers,
  });
  const release = async () => {
    await bus.close();
    await keyPool.end();
  };
  return startWithResources(release, async () => {
    const keys = await PostgresKeyStore.open({ pool: keyPool, schema: keySchema });
    const service = await startProjectionService({
      consortium,
      databaseUrl,
      schema,
      keys,
      bus,
      tokenKeys: new TokenKeys(tokenKeys),
      port,
      host,
      groupId,
      evidenceSigningKey,
      partnerUrls,
    });
    console.log(
      `projection-service of ${consortium.id} is up at ${service.url} (bound to ${host}); ` +
        `read models schema ${schema}, consumer group ${groupId}, key service schema ${keySchema}`,
    );
    return service;
  });
}

if (require.main === module) runService('projection-service', () => startProjectionFromEnv());
