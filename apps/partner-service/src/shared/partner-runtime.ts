import { Consortium } from '@app/consortium';
import { EventStore } from '@app/event-store';
import { Clock } from '@app/platform';
import { KeyStore } from '@app/privacy';

/** What one partner's service runs on: its own store, the consortium key service, and its settings. */
export interface PartnerRuntime {
  consortium: Consortium;
  partnerId: string;
  store: EventStore;
  keys: KeyStore;
  /** The consortium's secret for the keyed hash that matches a person at another door. */
  matchingSecret: Buffer;
  clock: Clock;
  /** Called after every append, so the relay publishes without waiting for its next look. */
  appended(): void;
}

export const PARTNER_RUNTIME = Symbol('PARTNER_RUNTIME');
