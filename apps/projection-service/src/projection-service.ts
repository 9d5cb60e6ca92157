import { Consortium } from '@app/consortium';
import { commandProblems, PostgresEventStore } from '@app/event-store';
import { allTopics, MessageBus } from '@app/messaging';
import {
  busCheck,
  keyStoreCheck,
  observeBus,
  observeStore,
  postgresCheck,
  ServiceObservability,
} from '@app/observability';
import {
  authProviders,
  Clock,
  checkSchemaName,
  createPool,
  HealthController,
  isEmbedded,
  listen,
  migrate,
  systemClock,
  TokenKeys,
} from '@app/platform';
import { KeyStore } from '@app/privacy';
import { Module } from '@nestjs/common';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { ProjectionApiDescriptionController } from './api-description';
import { EvidencePacks } from './evidence/evidence-packs';
import { EVIDENCE, EvidencePacksController, EvidenceRuntime } from './evidence/evidence-packs.controller';
import { PdfPrinter } from './evidence/pack-formats';
import { HttpPartnerLogs } from './evidence/partner-logs';
import { EvidenceSigner } from './evidence/signing';
import { FeedsController, WEBHOOKS } from './feeds/feeds.controller';
import { WebhookDispatcher, WebhookOptions } from './feeds/webhooks';
import { JourneysController } from './journeys/journeys.controller';
import { LearningController } from './learning/learning.controller';
import { PlaceController } from './place/place.controller';
import { ReferralInboxController } from './referral-inbox/referral-inbox.controller';
import { SweepResult, scheduleRetention, sweepRetention } from './retention/retention';
import { ProjectionConsumer } from './shared/projection-consumer';
import { PROJECTION_RUNTIME, ProjectionRuntime } from './shared/projection-runtime';
import { PROJECTION_MIGRATIONS, READ_MODELS } from './shared/read-models';

/** How long a batch's transaction may sit idle before the database ends it (see openReadModels). */
const STALLED_BATCH_MS = 30_000;

export interface ProjectionServiceOptions {
  consortium: Consortium;
  databaseUrl: string;
  schema: string;
  keys: KeyStore;
  bus: MessageBus;
  tokenKeys: TokenKeys;
  port?: number;
  host?: string;
  clock?: Clock;
  /** The consumer group; instances with the same one share the partitions. */
  groupId?: string;
  /** The consortium's Ed25519 key (PKCS #8 PEM) that signs evidence packs. */
  evidenceSigningKey: string;
  /** Where each partner's service answers, to check packs against the partners' own logs. Read when used. */
  partnerUrls: Record<string, string>;
  /** The schema of the consortium's own event store (evidence packs); default `<schema>_evidence`. */
  evidenceSchema?: string;
  webhooks?: WebhookOptions;
}

export interface RunningProjectionService {
  url: string;
  dataSource: DataSource;
  /** Empties the read models and builds them again from the first event on every topic. */
  rebuild(): Promise<void>;
  evidence: EvidencePacks;
  webhooks: WebhookDispatcher;
  /** Ends retention now, as the daily sweep does. */
  sweepRetention(): Promise<SweepResult>;
  stop(): Promise<void>;
}

/** Opens the read models' database (migrated, then TypeORM over it). */
export async function openReadModels(databaseUrl: string, schema: string): Promise<DataSource> {
  checkSchemaName(schema);
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    await migrate(pool, schema, 'projection', PROJECTION_MIGRATIONS);
  } finally {
    await pool.end();
  }
  const dataSource = new DataSource({
    type: 'postgres',
    url: databaseUrl,
    schema,
    entities: READ_MODELS,
    synchronize: false,
    extra: {
      max: 10,
      // A batch's transaction left open by an instance that stalled (paused, swapped out) would hold the rows
      // of its events, and the instance that took its partitions over would wait on them for as long as it
      // stalls. The server ends such a transaction after this long idle; the batch is applied by whoever holds
      // the partition then. A live batch is never idle between its statements for more than moments.
      ...(isEmbedded(databaseUrl) ? {} : { idle_in_transaction_session_timeout: STALLED_BATCH_MS }),
    },
  });
  return dataSource.initialize();
}

/** The projection service: consumes every partner's events and serves the shared, consent-filtered views. */
export async function startProjectionService(o: ProjectionServiceOptions): Promise<RunningProjectionService> {
  const dataSource = await openReadModels(o.databaseUrl, o.schema);
  const obs = new ServiceObservability('projection').addChecks(
    postgresCheck(dataSource),
    busCheck(o.bus),
    keyStoreCheck(o.keys),
  );
  const runtime: ProjectionRuntime = {
    consortium: o.consortium,
    dataSource,
    keys: o.keys,
    clock: o.clock ?? systemClock,
  };
  const evidencePool = createPool(o.databaseUrl, 4);
  const evidenceStore = await PostgresEventStore.open({
    pool: evidencePool,
    schema: checkSchemaName(o.evidenceSchema ?? `${o.schema}_evidence`),
  });
  const packs = new EvidencePacks(
    runtime,
    // Packs' appends are traced and counted like a partner's (hls_appends_total).
    observeStore(obs, evidenceStore),
    new EvidenceSigner(o.evidenceSigningKey),
    HttpPartnerLogs.asAdministrator(o.partnerUrls, o.tokenKeys, o.consortium.id),
  );
  const evidence: EvidenceRuntime = { packs, printer: new PdfPrinter() };
  const webhooks = new WebhookDispatcher(
    evidenceStore,
    packs,
    dataSource,
    o.schema,
    runtime.clock,
    o.webhooks,
  );

  @Module({
    controllers: [
      PlaceController,
      LearningController,
      HealthController,
      ProjectionApiDescriptionController,
      JourneysController,
      ReferralInboxController,
      EvidencePacksController,
      FeedsController,
    ],
    providers: [
      { provide: PROJECTION_RUNTIME, useValue: runtime },
      { provide: EVIDENCE, useValue: evidence },
      { provide: WEBHOOKS, useValue: webhooks },
      ...authProviders(o.tokenKeys),
    ],
  })
  class ProjectionModule {}

  webhooks.onFailure = (body, dead) =>
    obs.metrics.webhookFailures.inc({ body, result: dead ? 'dead' : 'retrying' });
  const consumer = new ProjectionConsumer(
    observeBus(obs, o.bus, { projection: true }),
    dataSource,
    o.groupId ?? `${o.consortium.id}.projection`,
    allTopics(o.consortium.id),
  );
  await consumer.start();
  const stopRetention = obs.run(() =>
    scheduleRetention(() => sweepRetention(o.consortium, o.keys, dataSource, runtime.clock.now())),
  );
  obs.run(() => webhooks.start());
  const { app, url } = await listen(ProjectionModule, {
    port: o.port ?? 0,
    host: o.host,
    name: 'projection',
    problems: [commandProblems],
    observer: obs.http(),
  });
  return {
    url,
    dataSource,
    rebuild: () => consumer.rebuild(),
    evidence: packs,
    webhooks,
    sweepRetention: () => sweepRetention(o.consortium, o.keys, dataSource, runtime.clock.now()),
    async stop() {
      stopRetention();
      await webhooks.stop();
      await consumer.stop();
      await evidence.printer.close();
      await evidenceStore.close();
      await evidencePool.end();
      await app.close();
      await dataSource.destroy();
      await obs.close();
    },
  };
}
