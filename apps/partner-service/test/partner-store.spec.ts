import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Consortium, loadConsortium } from '@app/consortium';
import { PostgresEventStore, StoreUnavailableError } from '@app/event-store';
import { InProcessBus, Relay } from '@app/messaging';
import { createPool } from '@app/platform';
import { Pool } from 'pg';
import { harnessState, uniqueSchema } from '../../../test/harness';
import { startPartnerFromEnv } from '../src/main';
import { openPartnerStore } from '../src/partner-store';

/**
 * A partner's event store is chosen by its consortium entry (ADR 0008). KurrentDB is not on these machines: what
 * runs here is the choice, the start-up errors and the refusal of an unreachable server; the KurrentDB adapter's
 * contract suite runs only where KURRENTDB_URL names a server (libs/event-store/test/kurrentdb-event-store.spec.ts).
 */

function withKurrentDb(partnerId: string): Consortium {
  const c = loadConsortium();
  return {
    ...c,
    partners: c.partners.map((p) => (p.id === partnerId ? { ...p, eventStore: 'kurrentdb' } : p)),
  };
}

let pool: Pool;
beforeAll(() => {
  pool = createPool(harnessState().databaseUrl, 4);
});
afterAll(() => pool.end());

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return `kurrentdb://127.0.0.1:${port}?tls=false`;
}

describe("a partner's event store, as the consortium file chooses it", () => {
  it('is PostgreSQL by default, published by the polling relay', async () => {
    const opened = await openPartnerStore({
      consortium: loadConsortium(),
      partnerId: 'fresh-start',
      pool,
      schema: uniqueSchema('pstore'),
      kurrentdbUrl: 'kurrentdb://ignored:2113?tls=false',
    });
    expect(opened.kind).toBe('postgres');
    expect(opened.store).toBeInstanceOf(PostgresEventStore);
    expect(opened.relay(new InProcessBus('c'), { name: 'r', consortiumId: 'c' })).toBeInstanceOf(Relay);
  });

  it('refuses to open a KurrentDB partner without KURRENTDB_URL, saying what to set', async () => {
    await expect(
      openPartnerStore({
        consortium: withKurrentDb('move-on'),
        partnerId: 'move-on',
        pool,
        schema: uniqueSchema('pstore'),
      }),
    ).rejects.toThrow(/partner move-on keeps its events in KurrentDB.*set KURRENTDB_URL/);
  });

  it('reports an unreachable KurrentDB server as unavailable at start', async () => {
    await expect(
      openPartnerStore({
        consortium: withKurrentDb('move-on'),
        partnerId: 'move-on',
        pool,
        schema: uniqueSchema('pstore'),
        kurrentdbUrl: await closedPortUrl(),
      }),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('the partner service started from its environment names KURRENTDB_URL when a KurrentDB partner lacks it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-kurrentdb-'));
    const file = join(dir, 'consortium.json');
    writeFileSync(file, JSON.stringify(withKurrentDb('spartans')));
    const failure = await startPartnerFromEnv({ HLS_CONSORTIUM_FILE: file, PARTNER_ID: 'spartans' }).catch(
      (e: Error) => e,
    );
    expect((failure as Error).name).toBe('EnvError');
    expect((failure as Error).message).toMatch(
      /KURRENTDB_URL is not set: partner spartans keeps its events in KurrentDB/,
    );
    // A PostgreSQL partner is not asked for it.
    const other = await startPartnerFromEnv({ HLS_CONSORTIUM_FILE: file, PARTNER_ID: 'move-on' }).catch(
      (e: Error) => e,
    );
    expect((other as Error).message).not.toMatch(/KURRENTDB_URL/);
  });
});
