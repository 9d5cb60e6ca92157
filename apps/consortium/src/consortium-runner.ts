import { Consortium } from '@app/consortium';
import { brokersFromEnv, InProcessBus, KafkaBus, MessageBus } from '@app/messaging';
import { Clock, createPool, startEmbeddedPostgres, TokenKeys } from '@app/platform';
import { PostgresKeyStore } from '@app/privacy';
import { RunningPartnerService, startPartnerService } from '../../partner-service/src/partner-service';
import { RunningPortal, startPortal } from '../../portal/src/portal';
import { generateSigningKey } from '../../projection-service/src/evidence/signing';
import { WebhookOptions } from '../../projection-service/src/feeds/webhooks';
import {
  RunningProjectionService,
  startProjectionService,
} from '../../projection-service/src/projection-service';
import { demoUsers } from './demo';
import { Secrets } from './secrets';

export interface ConsortiumOptions {
  consortium: Consortium;
  secrets: Secrets;
  /** A PostgreSQL server; without one, embedded PGlite persisted to dataDir (or in memory). */
  databaseUrl?: string;
  dataDir?: string;
  /** Without one, Kafka if KAFKA_BROKERS is set, else the in-process bus. */
  bus?: MessageBus;
  /** The KurrentDB server of partners whose consortium entry says eventStore "kurrentdb"; else KURRENTDB_URL. */
  kurrentdbUrl?: string;
  /** Prefixes every schema, so several consortia (or test runs) can share one server. */
  schemaPrefix?: string;
  /** The projection listens on basePort, partners on the ports after it; 0 picks free ports. */
  basePort?: number;
  host?: string;
  clock?: Clock;
  /** Webhook retry timing (tests shorten it). */
  webhooks?: WebhookOptions;
  /** The portal: on basePort + partners + 1 (or portalPort), with the demo users given this password. */
  portal?: PortalSettings;
}

export interface PortalSettings {
  /** Its own port; otherwise the one after the partners'. */
  portalPort?: number;
  /** Set where the portal is served over HTTPS. */
  secureCookies?: boolean;
  /** The demo users (demo.ts) are added with this password; without one, no users are added. */
  demoPassword?: string;
}

export interface RunningConsortium {
  consortium: Consortium;
  partners: Map<string, RunningPartnerService>;
  projection: RunningProjectionService;
  portal: RunningPortal;
  tokenKeys: TokenKeys;
  databaseUrl: string;
  embedded: boolean;
  busKind: 'kafka' | 'in-process';
  schemaOf(component: string): string;
  stop(): Promise<void>;
}

export const schemaName = (prefix: string, component: string) => `${prefix}${component}`.replaceAll('-', '_');

/** Runs the whole consortium in one process: every partner service, the projection service, the key service. */
export async function startConsortium(o: ConsortiumOptions): Promise<RunningConsortium> {
  const embedded = o.databaseUrl ? null : await startEmbeddedPostgres(o.dataDir);
  const databaseUrl = o.databaseUrl ?? (embedded?.url as string);
  const prefix = o.schemaPrefix ?? '';
  const schemaOf = (component: string) => schemaName(prefix, component);
  const brokers = brokersFromEnv();
  const bus =
    o.bus ??
    (brokers
      ? new KafkaBus({ clientId: o.consortium.id, consortiumId: o.consortium.id, brokers })
      : new InProcessBus(o.consortium.id));
  const tokenKeys = new TokenKeys(o.secrets.tokenKeys);
  const pool = createPool(databaseUrl, 20);
  const keys = await PostgresKeyStore.open({ pool, schema: schemaOf('key_service') });
  const basePort = o.basePort ?? 0;
  const portFor = (i: number) => (basePort === 0 ? 0 : basePort + i);

  // The projection subscribes first, so that in process nothing is published before it listens; it learns
  // the partners' addresses (to check evidence against their logs) as they start.
  const partnerUrls: Record<string, string> = {};
  const projection = await startProjectionService({
    evidenceSigningKey: o.secrets.evidenceSigningKey ?? generateSigningKey(),
    partnerUrls,
    webhooks: o.webhooks,
    consortium: o.consortium,
    databaseUrl,
    schema: schemaOf('projection'),
    keys,
    bus,
    tokenKeys,
    port: portFor(0),
    host: o.host,
    clock: o.clock,
  });
  const partners = new Map<string, RunningPartnerService>();
  for (const [i, p] of o.consortium.partners.entries()) {
    partners.set(
      p.id,
      await startPartnerService({
        consortium: o.consortium,
        partnerId: p.id,
        pool,
        schema: schemaOf(`partner_${p.id}`),
        kurrentdbUrl: o.kurrentdbUrl ?? (process.env.KURRENTDB_URL?.trim() || undefined),
        keys,
        bus,
        tokenKeys,
        matchingSecret: Buffer.from(o.secrets.matchingSecret, 'base64url'),
        port: portFor(i + 1),
        host: o.host,
        clock: o.clock,
      }),
    );
    partnerUrls[p.id] = partners.get(p.id)?.url as string;
  }
  const portal = await startPortal({
    consortium: o.consortium,
    partnerUrls,
    projectionUrl: projection.url,
    tokenKeys,
    databaseUrl,
    schema: schemaOf('portal'),
    port: o.portal?.portalPort ?? portFor(o.consortium.partners.length + 1),
    host: o.host,
    secureCookies: o.portal?.secureCookies,
    seedUsers: o.portal?.demoPassword
      ? { users: demoUsers(o.consortium), password: o.portal.demoPassword }
      : undefined,
  });
  return {
    consortium: o.consortium,
    partners,
    projection,
    portal,
    tokenKeys,
    databaseUrl,
    embedded: embedded !== null,
    busKind: bus instanceof KafkaBus ? 'kafka' : 'in-process',
    schemaOf,
    async stop() {
      await portal.stop();
      for (const p of partners.values()) await p.stop();
      await projection.stop();
      await bus.close();
      await pool.end();
      await embedded?.stop();
    },
  };
}
