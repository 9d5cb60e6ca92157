import { randomUUID } from 'node:crypto';
import { createPool } from '@app/platform';
import { Pool } from 'pg';
import { harnessState, uniqueSchema } from '../../../test/harness';
import { PostgresEventStore } from '../src';
import { canonicalJson, eventHash } from '../src/event-hash';

/** A small seeded generator, so a failing value can be found again. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  // What jsonb prints differently from JSON.stringify, or might: exponents, escapes, multi-byte keys.
  const numbers = [
    0,
    -0,
    1,
    -1,
    0.1,
    -2.5,
    1 / 3,
    123.456,
    1e21,
    1.5e21,
    -7e22,
    1e-7,
    1.2345e-7,
    -3e-10,
    5e-324,
    Number.MAX_VALUE,
    Number.MAX_SAFE_INTEGER,
    2 ** 60,
    1e20,
    45,
  ];
  const pieces = [
    'a',
    'Z',
    ' ',
    '"',
    '\\',
    '/',
    '\n',
    '\t',
    '\r',
    '\b',
    '\f',
    '\u0001',
    '\u001f',
    '\u007f',
    'é',
    '€',
    '😀',
    '\u2028',
    'ß',
    '<',
    '&',
    "'",
    '0',
    'long-key-name',
  ];
  const text = (max: number) => Array.from({ length: Math.floor(next() * max) }, () => pick(pieces)).join('');
  const value = (depth: number): unknown => {
    const kind = depth > 3 ? Math.floor(next() * 4) : Math.floor(next() * 6);
    switch (kind) {
      case 0:
        return pick(numbers);
      case 1:
        return text(8);
      case 2:
        return pick([true, false, null]);
      case 3:
        return next() < 0.5 ? pick(numbers) * Math.floor(next() * 1000) : text(3);
      case 4:
        return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = Math.floor(next() * 6); i > 0; i--)
          o[text(4)] = next() < 0.1 ? undefined : value(depth + 1);
        return o;
      }
    }
  };
  return { value, text };
}

const state = harnessState();
const pools: Pool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});

describe.each([
  ['PostgreSQL', () => state.databaseUrl],
  ['PGlite', () => state.embeddedUrl],
])('the chain hash computed in the application, on %s', (_, url) => {
  it('equals the store’s SQL event_hash for awkward content, byte for byte', async () => {
    const pool = createPool(url(), 4);
    pools.push(pool);
    const schema = uniqueSchema('hash');
    await (await PostgresEventStore.open({ pool, schema })).close();
    const g = generator(20261126);
    const fixed: unknown[] = [
      {},
      [],
      {
        b: 1,
        a: 2,
        aa: 3,
        '': 4,
        é: 5,
        z: 6,
        '😀': 7,
        ab: { y: [1e21, 1e-7, -0], x: 'line\nbreak "quoted" \\' },
      },
      { ß: 1, ss: 2, 'z\u0001': 3, z: null },
      'a string',
      12.5,
      [null, true, false, 0.1, -5e-324, Number.NaN, Number.POSITIVE_INFINITY, undefined, () => 1],
      {
        at: new Date('2026-11-20T10:00:00Z'),
        nested: { toJSON: () => ({ z: 1, a: [undefined] }) },
        skip: undefined,
      },
      { boxed: [new Number(2e21), new String('s'), new Boolean(false)] },
    ];
    const values = [...fixed, ...Array.from({ length: 300 }, () => g.value(0))];
    const cases = values.map((data, i) => ({
      id: i % 3 ? randomUUID() : randomUUID().toUpperCase(),
      type: g.text(6) || 'T',
      schemaVersion: i % 5,
      data,
      metadata: { partner: 'p', subject: g.text(5), causationId: undefined, n: i },
      prev: i % 2 ? Buffer.alloc(0) : Buffer.from(randomUUID().replaceAll('-', ''), 'hex'),
    }));
    // The text sent is the same data as JSON.stringify's: the database stores what it stored before.
    for (const c of cases)
      expect(JSON.parse(canonicalJson(c.data) as string)).toEqual(JSON.parse(JSON.stringify(c.data)));
    const { rows } = await pool.query<{ hash: string }>(
      `SELECT encode(${schema}.event_hash(prev, id, type, sv, data, metadata), 'hex') AS hash
         FROM unnest($1::bytea[], $2::uuid[], $3::text[], $4::int[], $5::jsonb[], $6::jsonb[])
              WITH ORDINALITY AS c(prev, id, type, sv, data, metadata, n)
        ORDER BY n`,
      [
        cases.map((c) => c.prev),
        cases.map((c) => c.id),
        cases.map((c) => c.type),
        cases.map((c) => c.schemaVersion),
        // As the store sent them before it hashed in the application: JSON.stringify's text.
        cases.map((c) => JSON.stringify(c.data)),
        cases.map((c) => JSON.stringify(c.metadata)),
      ],
    );
    const mismatched = cases
      .map((c, i) => ({
        data: c.data,
        ours: eventHash(c.prev, {
          ...c,
          data: canonicalJson(c.data),
          metadata: canonicalJson(c.metadata),
        })?.toString('hex'),
        theirs: rows[i].hash,
      }))
      .filter((m) => m.ours !== m.theirs);
    expect(mismatched).toEqual([]);
  });
});

it('leaves an id that is not a UUID in its usual form to the database', () => {
  const e = { type: 'T', schemaVersion: 1, data: '{}', metadata: '{}' };
  expect(eventHash(Buffer.alloc(0), { ...e, id: randomUUID(), data: canonicalJson(undefined) })).toBeNull();
  expect(eventHash(Buffer.alloc(0), { ...e, id: `{${randomUUID()}}` })).toBeNull();
  expect(eventHash(Buffer.alloc(0), { ...e, id: randomUUID() })).toHaveLength(32);
});
