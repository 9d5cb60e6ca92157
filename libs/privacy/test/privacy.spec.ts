import { randomBytes } from 'node:crypto';
import { createPool } from '@app/platform';
import { Pool } from 'pg';
import { harnessState, uniqueSchema } from '../../../test/harness';
import { ERASED, matchKey, open, openAll, PersonErasedError, PostgresKeyStore, seal } from '../src';

describe('sealing personal fields', () => {
  const key = randomBytes(32);

  it('round-trips a value under the person key and hides the plain text', () => {
    const sealed = seal(key, 'NE-1', { name: 'Kayleigh Smith' });
    expect(JSON.stringify(sealed)).not.toContain('Kayleigh');
    expect(open(key, 'NE-1', sealed)).toEqual({ name: 'Kayleigh Smith' });
  });

  it('will not open under another person reference or another key', () => {
    const sealed = seal(key, 'NE-1', 'secret');
    expect(() => open(key, 'NE-2', sealed)).toThrow();
    expect(() => open(randomBytes(32), 'NE-1', sealed)).toThrow();
  });

  it('opens nested sealed fields, and shows them as erased with no key', () => {
    const record = {
      kind: 'visit',
      notes: seal(key, 'NE-1', 'talked about debt'),
      list: [seal(key, 'NE-1', 3)],
    };
    expect(openAll(record, 'NE-1', key)).toEqual({ kind: 'visit', notes: 'talked about debt', list: [3] });
    expect(openAll(record, 'NE-1', null)).toEqual({ kind: 'visit', notes: ERASED, list: [ERASED] });
  });

  it('matches identifiers by keyed hash, whatever the spacing and case', () => {
    const secret = randomBytes(32);
    const a = matchKey(secret, { name: 'Kayleigh  Smith', dateOfBirth: '1990-04-01' });
    expect(a).toBe(matchKey(secret, { name: 'kayleigh smith ', dateOfBirth: '1990-04-01' }));
    expect(a).not.toBe(matchKey(secret, { name: 'Kayleigh Smith', dateOfBirth: '1990-04-02' }));
    expect(a).not.toBe(matchKey(randomBytes(32), { name: 'Kayleigh Smith', dateOfBirth: '1990-04-01' }));
    expect(a).not.toContain('Kayleigh');
  });
});

describe('the PostgreSQL key store', () => {
  let pool: Pool;
  let keys: PostgresKeyStore;
  beforeAll(async () => {
    pool = createPool(harnessState().databaseUrl);
    keys = await PostgresKeyStore.open({ pool, schema: uniqueSchema('keys') });
  });
  afterAll(() => pool.end());

  it('makes one key per person, the same on every call, even when first asked concurrently', async () => {
    const all = await Promise.all(Array.from({ length: 8 }, () => keys.keyFor('NE-A')));
    expect(all[0]).toHaveLength(32);
    for (const k of all) expect(k.equals(all[0])).toBe(true);
    expect((await keys.keyFor('NE-B')).equals(all[0])).toBe(false);
  });

  it('destroys a key for good: nothing opens, no new key is made, the erasure is recorded', async () => {
    const key = await keys.keyFor('NE-C');
    const sealed = seal(key, 'NE-C', 'date of birth');
    await keys.destroyKey('NE-C', 'the person asked to be forgotten', 'admin-1');
    expect(await keys.findKey('NE-C')).toBeNull();
    expect(await keys.isErased('NE-C')).toBe(true);
    await expect(keys.keyFor('NE-C')).rejects.toBeInstanceOf(PersonErasedError);
    expect(openAll({ dob: sealed }, 'NE-C', await keys.findKey('NE-C'))).toEqual({ dob: ERASED });
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM ${(keys as unknown as { schema: string }).schema}.person_keys WHERE data_key IS NOT NULL AND person_ref = 'NE-C'`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('finds people by match key, and forgets the match when the person is erased', async () => {
    await keys.keyFor('NE-M1');
    await keys.keyFor('NE-M2');
    await keys.recordMatchKey('NE-M1', 'mk-1');
    await keys.recordMatchKey('NE-M2', 'mk-1');
    await keys.recordMatchKey('NE-M1', 'mk-1');
    await keys.recordMatchKey('NE-NOKEY', 'mk-1'); // a reference without a key is never indexed
    expect(await keys.findByMatchKey('mk-1')).toEqual(['NE-M1', 'NE-M2']);
    await keys.destroyKey('NE-M2', 'asked to be forgotten', 'admin-1');
    expect(await keys.findByMatchKey('mk-1')).toEqual(['NE-M1']);
    expect(await keys.findByMatchKey('mk-2')).toEqual([]);
  });
});
