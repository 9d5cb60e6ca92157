import 'reflect-metadata';
import { isPartner } from '@app/consortium';
import { KafkaBus } from '@app/messaging';
import { createPool, TokenKeys } from '@app/platform';
import { PostgresKeyStore } from '@app/privacy';
import {
  defaultPartnerSchema,
  runService,
  ServiceEnv,
  Stoppable,
  startWithResources,
} from '../../consortium/src/service-env';
import { startPartnerService } from './partner-service';

/**
 * One partner's service on its own, for the distributed deployment (docker-compose.yml): its own database,
 * the consortium key service's database, and Kafka. Configured by the environment:
 *
 *   PARTNER_ID                 a partner of the consortium file
 *   DATABASE_URL               the partner's own PostgreSQL; PARTNER_SCHEMA, default partner_<id, - as _>
 *   KURRENTDB_URL              only for a partner whose consortium entry says "eventStore": "kurrentdb": its
 *                              KurrentDB server (e.g. kurrentdb://kurrentdb:2113?tls=false), where its events are
 *                              kept under the namespace PARTNER_SCHEMA; its relay checkpoint stays in DATABASE_URL
 *   KEY_SERVICE_DATABASE_URL   the key service's PostgreSQL; KEY_SERVICE_SCHEMA, default key_service
 *   KAFKA_BROKERS              a comma list (or KAFKA_BROKERS_FILE)
 *   HLS_TOKEN_KEYS             JSON: organisation id -> base64url token signing key
 *   HLS_MATCHING_SECRET        base64url secret of the matching hash, the same for every partner
 *   PORT (3000), HOST (0.0.0.0), HLS_CONSORTIUM_FILE (default consortium/north-edinburgh.json)
 */
export async function startPartnerFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<Stoppable> {
  const e = new ServiceEnv(env);
  const consortium = e.consortium();
  const partnerId = e.required(
    'PARTNER_ID',
    'which partner of the consortium this service is, e.g. fresh-start',
  );
  if (consortium && partnerId && !isPartner(consortium, partnerId))
    e.problem(
      `PARTNER_ID "${partnerId}" is not a partner of ${consortium.id}; its partners are ` +
        consortium.partners.map((p) => p.id).join(', '),
    );
  const databaseUrl = e.required(
    'DATABASE_URL',
    "the partner's own PostgreSQL, e.g. postgres://user:pw@host/db",
  );
  const schema = e.schema('PARTNER_SCHEMA', defaultPartnerSchema(partnerId || 'unknown'));
  const eventStore = consortium?.partners.find((p) => p.id === partnerId)?.eventStore ?? 'postgres';
  const kurrentdbUrl =
    eventStore === 'kurrentdb'
      ? e.required(
          'KURRENTDB_URL',
          `partner ${partnerId} keeps its events in KurrentDB ("eventStore": "kurrentdb" in the consortium file); ` +
            'give its connection string, e.g. kurrentdb://kurrentdb:2113?tls=false',
        )
      : undefined;
  if (eventStore !== 'kurrentdb' && env.KURRENTDB_URL?.trim())
    e.warnings.push(
      `KURRENTDB_URL is set but partner ${partnerId} keeps its events in PostgreSQL (the consortium file says so); it is not used`,
    );
  const keyServiceUrl = e.required('KEY_SERVICE_DATABASE_URL', "the consortium key service's PostgreSQL");
  const keySchema = e.schema('KEY_SERVICE_SCHEMA', 'key_service');
  const brokers = e.kafkaBrokers();
  const tokenKeys = e.tokenKeys(consortium);
  const matchingSecret = e.matchingSecret();
  const port = e.port();
  const host = e.host();
  e.check();
  for (const w of e.warnings) console.warn(`partner-service: ${w}`);
  if (!consortium) throw new Error('no consortium file'); // reported by check() already

  const pool = createPool(databaseUrl, 10);
  const keyPool = createPool(keyServiceUrl, 5);
  const bus = new KafkaBus({
    clientId: `${consortium.id}.${partnerId}`,
    consortiumId: consortium.id,
    brokers,
  });
  const release = async () => {
    await bus.close();
    await Promise.all([pool.end(), keyPool.end()]);
  };
  return startWithResources(release, async () => {
    const keys = await PostgresKeyStore.open({ pool: keyPool, schema: keySchema });
    const service = await startPartnerService({
      consortium,
      partnerId,
      pool,
      schema,
      kurrentdbUrl,
      keys,
      bus,
      tokenKeys: new TokenKeys(tokenKeys),
      matchingSecret,
      port,
      host,
    });
    console.log(
      `partner-service ${partnerId} of ${consortium.id} is up at ${service.url} (bound to ${host}); ` +
        `event store ${eventStore === 'kurrentdb' ? `KurrentDB, namespace ${schema}` : `schema ${schema}`}, ` +
        `key service schema ${keySchema}, backbone Kafka`,
    );
    return service;
  });
}

if (require.main === module) runService('partner-service', () => startPartnerFromEnv());
