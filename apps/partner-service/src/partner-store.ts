import { Consortium } from '@app/consortium';
import { EventStore, KurrentDbEventStore, PostgresEventStore } from '@app/event-store';
import { KurrentDbRelay, LogRelay, MessageBus, Relay, RelayCheckpoints, RelayOptions } from '@app/messaging';
import { Pool } from 'pg';

/** A partner's system of record, as its consortium entry chooses it (ADR 0008), and the relay that publishes it. */
export interface PartnerStore {
  kind: 'postgres' | 'kurrentdb';
  store: EventStore;
  relay(bus: MessageBus, options: RelayOptions): LogRelay;
}

/** Why a KurrentDB partner cannot start without KURRENTDB_URL, in words an operator can act on. */
export function kurrentdbUrlMissing(partnerId: string): string {
  return (
    `partner ${partnerId} keeps its events in KurrentDB (eventStore: "kurrentdb" in the consortium file), but no ` +
    'KurrentDB server was given: set KURRENTDB_URL to its connection string, e.g. kurrentdb://kurrentdb:2113?tls=false'
  );
}

/**
 * Opens the partner's store: PostgreSQL in `schema` (the default), or KurrentDB under the namespace `schema` when
 * the consortium file says `eventStore: "kurrentdb"`. The relay's checkpoint is kept in the partner's PostgreSQL
 * either way (ADR 0008). A KurrentDB store's relay follows KurrentDB's subscription to $all instead of polling.
 */
export async function openPartnerStore(o: {
  consortium: Consortium;
  partnerId: string;
  pool: Pool;
  schema: string;
  kurrentdbUrl?: string;
}): Promise<PartnerStore> {
  const kind = o.consortium.partners.find((p) => p.id === o.partnerId)?.eventStore ?? 'postgres';
  if (kind === 'kurrentdb') {
    if (!o.kurrentdbUrl) throw new Error(kurrentdbUrlMissing(o.partnerId));
    const checkpoints = await RelayCheckpoints.open(o.pool, o.schema);
    const store = await KurrentDbEventStore.open({ url: o.kurrentdbUrl, namespace: o.schema });
    return { kind, store, relay: (bus, options) => new KurrentDbRelay(store, bus, checkpoints, options) };
  }
  const store = await PostgresEventStore.open({ pool: o.pool, schema: o.schema });
  const checkpoints = await RelayCheckpoints.open(o.pool, o.schema);
  return { kind, store, relay: (bus, options) => new Relay(store, bus, checkpoints, options) };
}
