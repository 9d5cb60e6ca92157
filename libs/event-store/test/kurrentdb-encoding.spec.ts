import { createPool } from '@app/platform';
import { Pool } from 'pg';
import { harnessState, uniqueSchema } from '../../../test/harness';
import {
  chainHash,
  checkNamespace,
  digestOf,
  expectedState,
  isAfter,
  isKurrentUnavailable,
  jsonbText,
  kurrentStreams,
  meetsExpectation,
  PostgresEventStore,
  propertiesOf,
  RecordedEvent,
  recordedOf,
  resumeFrom,
  streamIdOf,
} from '../src';
import { newEvent } from './event-store.contract';

/**
 * The KurrentDB adapter's mappings as pure functions, run here without a KurrentDB server. The hash chain and the
 * range digest are checked against PostgreSQL itself: the two adapters must hash the same event the same way.
 */

const state = harnessState();
let pool: Pool;
beforeAll(() => {
  pool = createPool(state.databaseUrl, 4);
});
afterAll(() => pool.end());

/** Values whose jsonb text differs from JSON.stringify: key order, spacing, numbers, escapes, non-ASCII. */
const awkward: unknown[] = [
  { b: 1, a: 2, aa: 3, '': 4, B: 5 },
  { nested: { z: [1, 2, { y: null, x: true }], é: 'ü', e: false } },
  [1e21, 1.5e-7, 0.1, -0, 123456789.125, -42, 5e-324, 1.7976931348623157e308, 0.30000000000000004],
  { text: 'quote " backslash \\ tab \t newline \n nul-free \u0001 \u001f emoji 😀 line\u2028sep' },
  { ключ: 1, κλειδί: 2, key: 3, 鍵: 4, kéy: 5 },
  [],
  {},
  'plain string',
  null,
  { undefinedDropped: undefined, date: new Date('2026-11-20T10:00:00.000Z') },
];

describe('KurrentDB adapter mappings (pure, no server)', () => {
  it.each(awkward.map((v) => [JSON.stringify(v) ?? 'undefined', v]))(
    'prints %s exactly as PostgreSQL prints it as jsonb',
    async (_, value) => {
      const { rows } = await pool.query<{ t: string }>('SELECT $1::jsonb::text AS t', [
        JSON.stringify(value),
      ]);
      expect(jsonbText(value)).toBe(rows[0].t);
    },
  );

  it('writes numbers in plain decimal notation', () => {
    expect(jsonbText(1e21)).toBe('1000000000000000000000');
    expect(jsonbText(1.5e-7)).toBe('0.00000015');
    expect(jsonbText(-0)).toBe('0');
    expect(jsonbText(-12.5)).toBe('-12.5');
    expect(jsonbText(Number.NaN)).toBe('null'); // as JSON.stringify sends it
    expect(() => jsonbText(undefined)).toThrow();
  });

  it('chains hashes exactly as the PostgreSQL adapter does, so an event hashes the same on either store', async () => {
    const store = await PostgresEventStore.open({ pool, schema: uniqueSchema('kdbhash') });
    const events = awkward
      .filter((v) => v !== undefined)
      .map((data, i) => newEvent('NE-1', i % 2 ? 'ContactRecorded' : 'Reflected', data));
    events[0].id = events[0].id.toUpperCase(); // PostgreSQL prints a uuid in lower case; so does the hash
    events[1].metadata.causationId = 'cmd-1';
    await store.append('person-NE-1', 'no_stream', events.slice(0, 3));
    await store.append('person-NE-1', 2, events.slice(3));
    const stored = await store.readStream('person-NE-1');
    let previous = '';
    for (const [i, e] of events.entries()) {
      const hash = chainHash(previous, e);
      expect({ i, hash }).toEqual({ i, hash: stored[i].hash });
      previous = hash;
    }
  });

  it('digests a range of positions as the PostgreSQL adapter does', async () => {
    const store = await PostgresEventStore.open({ pool, schema: uniqueSchema('kdbdigest') });
    await store.append('a', 'no_stream', [newEvent('x'), newEvent('x')]);
    await store.append('b', 'no_stream', [newEvent('y')]);
    const log = await store.readStream('a');
    log.push(...(await store.readStream('b')));
    const first = Math.min(...log.map((e) => e.position));
    const all = await store.verifyRange(first, first + 10);
    expect(digestOf(log)).toBe(all.digest);
    expect(digestOf(log.filter((e) => e.position <= first + 1))).toBe(
      (await store.verifyRange(first, first + 1)).digest,
    );
    expect(digestOf([])).toBe((await store.verifyRange(first + 100, first + 200)).digest);
  });

  it('digests a range that crosses a provenance block as the PostgreSQL adapter does', async () => {
    const schema = uniqueSchema('kdbblocks');
    const store = await PostgresEventStore.open({ pool, schema });
    await pool.query(`ALTER SEQUENCE ${schema}.events_position_seq RESTART WITH 4094`);
    await store.append('a', 'no_stream', [newEvent('x'), newEvent('x'), newEvent('x')]);
    await store.append('b', 'no_stream', [newEvent('y'), newEvent('y')]);
    const log = [...(await store.readStream('a')), ...(await store.readStream('b'))];
    expect(log.map((e) => e.position).sort()).toEqual([4094, 4095, 4096, 4097, 4098]);
    expect(digestOf(log)).toBe((await store.verifyRange(4094, 4098)).digest);
    expect(digestOf(log.filter((e) => e.position >= 4095 && e.position <= 4096))).toBe(
      (await store.verifyRange(4095, 4096)).digest,
    );
    expect(digestOf([...log].reverse())).toBe(digestOf(log));
  });

  it('maps expected versions onto KurrentDB stream states (versions and revisions are both 0-based)', () => {
    expect(expectedState('any')).toBe('any');
    expect(expectedState('no_stream')).toBe('no_stream');
    expect(expectedState(0)).toBe(0n);
    expect(expectedState(41)).toBe(41n);
    expect(expectedState(-1)).toBe('no_stream');
    expect(() => expectedState(-2)).toThrow(/whole number/);
    expect(() => expectedState(1.5)).toThrow(/whole number/);
    expect(meetsExpectation(-1, 'no_stream')).toBe(true);
    expect(meetsExpectation(0, 'no_stream')).toBe(false);
    expect(meetsExpectation(3, 3)).toBe(true);
    expect(meetsExpectation(3, 2)).toBe(false);
    expect(meetsExpectation(-1, 0)).toBe(false);
    expect(meetsExpectation(-1, -1)).toBe(true);
    expect(meetsExpectation(0, -1)).toBe(false);
    expect(meetsExpectation(7, 'any')).toBe(true);
  });

  it('keeps a store in its own namespace: one prefix reads its log and nothing of its bookkeeping', () => {
    const s = kurrentStreams('partner_fresh_start');
    expect(s.events('person-NE-1')).toBe('partner_fresh_start/person-NE-1');
    expect(streamIdOf('partner_fresh_start', s.events('person-NE-1'))).toBe('person-NE-1');
    for (const other of [s.positions, s.eventId('ABC'), '$stats-127.0.0.1:2113'])
      expect(other.startsWith(s.logPrefix)).toBe(false);
    expect(streamIdOf('partner_fresh_start', 'partner_fresh_start_two/x')).toBeNull();
    expect(s.eventId('ABC')).toBe(s.eventId('abc'));
    expect(() => checkNamespace('Fresh-Start')).toThrow(/namespace/);
    expect(() => checkNamespace('a/b')).toThrow(/namespace/);
  });

  it('orders the log by commit position, then position, and resumes where a checkpoint left off', () => {
    expect(resumeFrom({ transactionId: '0', position: 0 })).toBe('start');
    expect(resumeFrom({ transactionId: '18446744073709551000', position: 9 })).toEqual({
      commit: 18446744073709551000n,
      prepare: 18446744073709551000n,
    });
    const at = { transactionId: '5000', position: 12 };
    expect(isAfter({ transactionId: '5000', position: 12 }, at)).toBe(false);
    expect(isAfter({ transactionId: '5000', position: 13 }, at)).toBe(true);
    expect(isAfter({ transactionId: '4999', position: 20 }, at)).toBe(false);
    // Compared as numbers, not text: '10000' is after '5000'.
    expect(isAfter({ transactionId: '10000', position: 1 }, at)).toBe(true);
  });

  it('round-trips an event through the properties KurrentDB keeps, ignoring the keys the server adds', () => {
    const e = newEvent('NE-1', 'ContactRecorded', { n: 1 });
    const hash = chainHash('', e);
    const back = recordedOf('ns', {
      streamId: 'ns/person-NE-1',
      id: e.id,
      revision: 3n,
      type: e.type,
      created: new Date('2026-11-20T10:00:01.000Z'),
      data: { n: 1 },
      metadata: { ...propertiesOf(e, 42, hash), '$schema.format': 'Json', '$record.timestamp': 'x' },
      position: { commit: 9000n, prepare: 9000n },
    });
    expect(back).toEqual<RecordedEvent>({
      ...e,
      streamId: 'person-NE-1',
      version: 3,
      position: 42,
      transactionId: '9000',
      recordedAt: '2026-11-20T10:00:01.000Z',
      hash,
    });
    for (const v of Object.values(propertiesOf(e, 42, hash))) expect(typeof v).toBe('string');
    // Not this store's, or not written by this adapter: not part of the log.
    expect(recordedOf('other', { ...baseRecord(), streamId: 'ns/x' })).toBeNull();
    expect(recordedOf('ns', { ...baseRecord(), metadata: { '$schema.format': 'Json' } })).toBeNull();
  });

  it('tells an unreachable server from a refusal', () => {
    expect(isKurrentUnavailable({ type: 'unavailable' })).toBe(true);
    expect(isKurrentUnavailable({ type: 'deadline-exceeded' })).toBe(true);
    expect(isKurrentUnavailable({ code: 14, message: '14 UNAVAILABLE: No connection established' })).toBe(
      true,
    );
    expect(isKurrentUnavailable({ type: 'wrong-expected-version' })).toBe(false);
    expect(isKurrentUnavailable({ type: 'access-denied' })).toBe(false);
    expect(isKurrentUnavailable(new Error('Malformed JSON'))).toBe(false);
  });
});

function baseRecord() {
  return {
    streamId: 'ns/x',
    id: '00000000-0000-4000-8000-000000000000',
    revision: 0n,
    type: 'T',
    created: new Date(),
    data: {},
    position: { commit: 1n, prepare: 1n },
  };
}
