import { randomUUID } from 'node:crypto';
import { loadConsortium } from '@app/consortium';
import { PersonCommand, person, personStream } from '@app/domain';
import { PostgresEventStore } from '@app/event-store';
import { createPool } from '@app/platform';
import { PostgresKeyStore, Sealed } from '@app/privacy';
import { Pool } from 'pg';
import { harnessState, uniqueSchema } from '../../../test/harness';
import { PartnerRuntime } from '../src/shared/partner-runtime';
import { runCommand } from '../src/shared/run-command';

const sealed = (personRef: string): Sealed => ({
  sealed: 'aes-256-gcm',
  kid: `${personRef}/identity/2026`,
  iv: 'AAAAAAAAAAAAAAAA',
  tag: 'AAAAAAAAAAAAAAAAAAAAAA==',
  ct: 'AAAA',
});

let pool: Pool;
beforeAll(() => {
  pool = createPool(harnessState().databaseUrl, 20);
});
afterAll(() => pool.end());

/** One instance of a partner's service: its own store object and its own memory, over the shared database. */
async function instance(schema: string, keySchema: string): Promise<PartnerRuntime> {
  return {
    consortium: loadConsortium(),
    partnerId: 'fresh-start',
    store: await PostgresEventStore.open({ pool, schema }),
    keys: await PostgresKeyStore.open({ pool, schema: keySchema }),
    matchingSecret: Buffer.alloc(32),
    clock: { now: () => new Date() },
    appended: () => undefined,
  };
}

const ctx = {
  actor: { userId: 'w1', name: 'W', organisation: 'fresh-start', role: 'worker' as const },
  correlationId: randomUUID(),
};
const contact = (id = randomUUID()): PersonCommand => ({
  type: 'RecordContact',
  id,
  kind: 'visit',
  occurredAt: '2026-11-20T09:30:00.000Z',
  durationMinutes: 30,
  notes: null,
  at: new Date().toISOString(),
});

describe('running a command on a stream this service wrote before', () => {
  const personRef = 'NE-0000000001';
  const stream = personStream(personRef);
  const register: PersonCommand = {
    type: 'RegisterPerson',
    personRef,
    personal: {
      name: sealed(personRef),
      dateOfBirth: sealed(personRef),
      contact: sealed(personRef),
      whatMatters: sealed(personRef),
    },
    at: new Date().toISOString(),
  };

  it('decides again on what the store holds when another instance wrote the stream in the meantime', async () => {
    const schema = uniqueSchema('cmd');
    const keys = uniqueSchema('keys');
    const a = await instance(schema, keys);
    const b = await instance(schema, keys);
    await runCommand(a, person, stream, personRef, register, ctx);
    await runCommand(a, person, stream, personRef, contact(), ctx);
    // B records a contact A has not seen; A then records the same contact id: decided on B's write, refused.
    const seenByB = randomUUID();
    await runCommand(b, person, stream, personRef, contact(seenByB), ctx);
    await expect(runCommand(a, person, stream, personRef, contact(seenByB), ctx)).rejects.toMatchObject({
      kind: 'conflict',
    });
    // And a new contact through A goes on after B's, nothing lost.
    const { version } = await runCommand(a, person, stream, personRef, contact(), ctx);
    expect(version).toBe(3);
    const events = await a.store.readStream(stream);
    expect(events.map((e) => e.type)).toEqual([
      'PersonRegistered',
      'ContactRecorded',
      'ContactRecorded',
      'ContactRecorded',
    ]);
    expect(await a.store.verifyRange(events[0].position, events[3].position)).toMatchObject({ altered: [] });
  });

  it('takes commands on one stream in turn: many at once each land, one version after another', async () => {
    const a = await instance(uniqueSchema('cmd'), uniqueSchema('keys'));
    await runCommand(a, person, stream, personRef, register, ctx);
    const results = await Promise.all(
      Array.from({ length: 12 }, () => runCommand(a, person, stream, personRef, contact(), ctx)),
    );
    expect(results.map((r) => r.version).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    expect((await a.store.readStream(stream)).map((e) => e.version)).toEqual(
      Array.from({ length: 13 }, (_, i) => i),
    );
  });

  it('refuses a record the stream already holds, as before, from the remembered state', async () => {
    const a = await instance(uniqueSchema('cmd'), uniqueSchema('keys'));
    await runCommand(a, person, stream, personRef, register, ctx);
    const id = randomUUID();
    await runCommand(a, person, stream, personRef, contact(id), ctx);
    await expect(runCommand(a, person, stream, personRef, contact(id), ctx)).rejects.toMatchObject({
      kind: 'conflict',
    });
    expect(await a.store.readStream(stream)).toHaveLength(2);
  });
});
