import { Consortium, isPartner } from '@app/consortium';
import { EventStore } from '@app/event-store';
import { LogRelay, MessageBus, Subscription } from '@app/messaging';
import {
  busCheck,
  keyStoreCheck,
  observeBus,
  observeStore,
  postgresCheck,
  ServiceObservability,
} from '@app/observability';
import { authProviders, Clock, HealthController, listen, systemClock, TokenKeys } from '@app/platform';
import { KeyStore } from '@app/privacy';
import { Logger, Module } from '@nestjs/common';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { Pool } from 'pg';
import { PartnerApiDescriptionController } from './api-description';
import { ConsentController, GiveConsentHandler, WithdrawConsentHandler } from './consent/consent';
import { LearningController, RecordLearningHandler } from './learning/learning';
import { LogController } from './log/log.controller';
import { openPartnerStore } from './partner-store';
import { ActOnJourneyHandler, PeopleController, RegisterPersonHandler } from './people/people';
import { followReferrals } from './referrals/referral-intake';
import {
  ChangeReferralStatusHandler,
  ReferralsController,
  RequestReferralHandler,
  TakeInReferralHandler,
} from './referrals/referrals';
import { partnerProblems } from './shared/http';
import { PARTNER_RUNTIME, PartnerRuntime } from './shared/partner-runtime';

export interface PartnerServiceOptions {
  consortium: Consortium;
  partnerId: string;
  /** The partner's own database (a schema of its own when several share one server). */
  pool: Pool;
  schema: string;
  /** The KurrentDB server of a partner whose consortium entry says eventStore "kurrentdb" (ADR 0008). */
  kurrentdbUrl?: string;
  keys: KeyStore;
  bus: MessageBus;
  tokenKeys: TokenKeys;
  matchingSecret: Buffer;
  port?: number;
  host?: string;
  clock?: Clock;
}

export interface RunningPartnerService {
  partnerId: string;
  url: string;
  store: EventStore;
  relay: LogRelay;
  stop(): Promise<void>;
}

/** One partner's service: its event store, the relay that publishes it, referral intake, and its HTTP API. */
export async function startPartnerService(o: PartnerServiceOptions): Promise<RunningPartnerService> {
  if (!isPartner(o.consortium, o.partnerId))
    throw new Error(`${o.partnerId} is not a partner in the consortium file`);
  const opened = await openPartnerStore(o);
  const store = opened.store;
  const obs = new ServiceObservability(o.partnerId).addChecks(
    postgresCheck(o.pool),
    busCheck(o.bus),
    keyStoreCheck(o.keys),
  );
  // The relay-lag query reads a PostgreSQL store's events table; a KurrentDB store has none.
  const bus = observeBus(obs, o.bus, {
    relay:
      opened.kind === 'postgres'
        ? { name: `${o.partnerId}.relay`, pool: o.pool, schema: o.schema }
        : undefined,
  });
  const relay = opened.relay(bus, {
    name: `${o.partnerId}.relay`,
    consortiumId: o.consortium.id,
    onError: (e) => new Logger(`${o.partnerId}.relay`).warn(`waiting to retry: ${(e as Error).message}`),
  });
  const runtime: PartnerRuntime = {
    consortium: o.consortium,
    partnerId: o.partnerId,
    store: observeStore(obs, store),
    keys: o.keys,
    matchingSecret: o.matchingSecret,
    clock: o.clock ?? systemClock,
    appended: () => relay.wake(),
  };

  @Module({
    imports: [CqrsModule.forRoot()],
    controllers: [
      LearningController,
      LogController,
      HealthController,
      PartnerApiDescriptionController,
      PeopleController,
      ConsentController,
      ReferralsController,
    ],
    providers: [
      { provide: PARTNER_RUNTIME, useValue: runtime },
      ...authProviders(o.tokenKeys),
      RegisterPersonHandler,
      ActOnJourneyHandler,
      GiveConsentHandler,
      WithdrawConsentHandler,
      RequestReferralHandler,
      ChangeReferralStatusHandler,
      TakeInReferralHandler,
      RecordLearningHandler,
    ],
  })
  class PartnerModule {}

  const { app, url } = await listen(PartnerModule, {
    port: o.port ?? 0,
    host: o.host,
    problems: [partnerProblems],
    name: o.partnerId,
    observer: obs.http(),
  });
  obs.run(() => relay.start());
  const intake: Subscription = await followReferrals(runtime, bus, app.get(CommandBus));
  return {
    partnerId: o.partnerId,
    url,
    store,
    relay,
    async stop() {
      await intake.stop();
      await relay.stop();
      await app.close();
      await obs.close();
      await store.close(); // a KurrentDB store's own client; a shared pool stays open
    },
  };
}
