import { randomBytes } from 'node:crypto';
import { createPool } from '@app/platform';
import { Pool } from 'pg';
import { harnessState, uniqueSchema } from '../../../test/harness';
import {
  ERASED,
  keyId,
  matchKey,
  open,
  openAll,
  openFor,
  openForReader,
  PersonErasedError,
  PostgresKeyStore,
  RetentionEndedError,
  seal,
  sealFor,
  UnknownPersonError,
} from '../src';

describe('sealing personal fields', () => {
  const key = randomBytes(32);
  const kid = keyId('NE-1', 'identity', '2026-11-20');

  it('names the key by person, kind and year; identity has one key for all years', () => {
    expect(keyId('NE-1', 'contact-notes', '2026-11-20T10:00:00Z')).toBe('NE-1/contact-notes/2026');
    expect(kid).toBe('NE-1/identity/all');
  });

  it('round-trips a value under its key and hides the plain text', () => {
    const sealed = seal(key, kid, { name: 'Kayleigh Smith' });
    expect(JSON.stringify(sealed)).not.toContain('Kayleigh');
    expect(open(key, sealed)).toEqual({ name: 'Kayleigh Smith' });
  });

  it('will not open under another key, nor when passed off under another key id', () => {
    const sealed = seal(key, kid, 'secret');
    expect(() => open(randomBytes(32), sealed)).toThrow();
    expect(() => open(key, { ...sealed, kid: 'NE-2/identity/all' })).toThrow();
  });

  it("opens a person's nested sealed fields; a missing key, or another person's field, reads as erased", () => {
    const notesKid = keyId('NE-1', 'contact-notes', '2026');
    const record = {
      kind: 'visit',
      notes: seal(key, notesKid, 'talked about debt'),
      list: [seal(key, kid, 3)],
      other: seal(key, 'NE-2/identity/all', 'not theirs'),
    };
    const keys = new Map([
      [notesKid, key],
      [kid, key],
      ['NE-2/identity/all', key],
    ]);
    expect(openAll(record, 'NE-1', keys)).toEqual({
      kind: 'visit',
      notes: 'talked about debt',
      list: [3],
      other: ERASED,
    });
    expect(openAll(record, 'NE-1', new Map([[kid, key]]))).toEqual({
      kind: 'visit',
      notes: ERASED,
      list: [3],
      other: ERASED,
    });
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

describe('the consortium key service (PostgreSQL)', () => {
  let pool: Pool;
  let keys: PostgresKeyStore;
  let schema: string;
  beforeAll(async () => {
    pool = createPool(harnessState().databaseUrl);
    schema = uniqueSchema('keys');
    keys = await PostgresKeyStore.open({ pool, schema });
  });
  afterAll(() => pool.end());

  it('makes one key per id for a registered person, the same on every call, even when asked concurrently', async () => {
    await keys.addPerson('NE-A');
    const all = await Promise.all(Array.from({ length: 8 }, () => keys.keyFor('NE-A/identity/all')));
    expect(all[0]).toHaveLength(32);
    for (const k of all) expect(k.equals(all[0])).toBe(true);
    expect((await keys.keyFor('NE-A/contact-notes/2026')).equals(all[0])).toBe(false);
  });

  it('makes no key for a reference nobody registered', async () => {
    await expect(keys.keyFor('NE-NOBODY/identity/all')).rejects.toBeInstanceOf(UnknownPersonError);
    expect(await keys.findKeys(['NE-NOBODY/identity/all'])).toEqual(
      new Map([['NE-NOBODY/identity/all', null]]),
    );
  });

  it("opens a reader's view and says whether the person was erased, in one call to the key service", async () => {
    await keys.addPerson('NE-READER');
    await keys.addPerson('NE-OTHER');
    const name = await sealFor(keys, 'NE-READER', 'identity', '2026-01-01', 'Rab');
    const notes = await sealFor(keys, 'NE-READER', 'contact-notes', '2025-06-01', 'came in');
    // A field sealed for someone else is never opened with this person's keys.
    const other = await sealFor(keys, 'NE-OTHER', 'identity', '2026-01-01', 'not theirs');
    expect(await openForReader(keys, 'NE-READER', { name, notes, other })).toEqual({
      erased: false,
      value: { name: 'Rab', notes: 'came in', other: ERASED },
    });
    await keys.erasePerson('NE-READER', 'the person asked to be forgotten', 'admin-1');
    expect(await openForReader(keys, 'NE-READER', { name, notes })).toEqual({
      erased: true,
      value: { name: ERASED, notes: ERASED },
    });
    expect(await keys.personKeys('NE-NOBODY', [])).toEqual({ erased: false, keys: new Map() });
  });

  it('erases a person for good: every key destroyed, no new key made, the erasure recorded', async () => {
    await keys.addPerson('NE-C');
    const sealed = await sealFor(keys, 'NE-C', 'identity', '2026-01-01', '1990-04-01');
    const notes = await sealFor(keys, 'NE-C', 'contact-notes', '2025-06-01', 'notes');
    expect(await openFor(keys, 'NE-C', { sealed, notes })).toEqual({ sealed: '1990-04-01', notes: 'notes' });
    await keys.erasePerson('NE-C', 'the person asked to be forgotten', 'admin-1');
    expect(await keys.isErased('NE-C')).toBe(true);
    await expect(keys.keyFor('NE-C/identity/all')).rejects.toBeInstanceOf(PersonErasedError);
    await expect(keys.keyFor('NE-C/outcomes/2026')).rejects.toBeInstanceOf(PersonErasedError);
    expect(await openFor(keys, 'NE-C', { sealed, notes })).toEqual({ sealed: ERASED, notes: ERASED });
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM ${schema}.data_keys WHERE person_ref = 'NE-C' AND data_key IS NOT NULL`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('ends retention for one kind of record and the years before a cut-off, and nothing else', async () => {
    await keys.addPerson('NE-R');
    const old = await sealFor(keys, 'NE-R', 'contact-notes', '2019-03-01', 'old notes');
    const recent = await sealFor(keys, 'NE-R', 'contact-notes', '2025-03-01', 'recent notes');
    const reason = await sealFor(keys, 'NE-R', 'referral-reasons', '2019-03-01', 'old reason');
    const expired = await keys.expireKeys('contact-notes', '2020', 'retention of contact notes: 5 years');
    expect(expired).toContain('NE-R/contact-notes/2019');
    expect(expired).not.toContain('NE-R/contact-notes/2025');
    expect(await openFor(keys, 'NE-R', { old, recent, reason })).toEqual({
      old: ERASED,
      recent: 'recent notes',
      reason: 'old reason',
    });
    await expect(keys.keyFor('NE-R/contact-notes/2019')).rejects.toBeInstanceOf(RetentionEndedError);
  });

  it('finds people by match key, and forgets the match when the person is erased', async () => {
    await keys.addPerson('NE-M1');
    await keys.addPerson('NE-M2');
    await keys.recordMatchKey('NE-M1', 'mk-1');
    await keys.recordMatchKey('NE-M2', 'mk-1');
    await keys.recordMatchKey('NE-M1', 'mk-1');
    await keys.recordMatchKey('NE-NOKEY', 'mk-1'); // a reference nobody registered is never indexed
    expect(await keys.findByMatchKey('mk-1')).toEqual(['NE-M1', 'NE-M2']);
    await keys.erasePerson('NE-M2', 'asked to be forgotten', 'admin-1');
    expect(await keys.findByMatchKey('mk-1')).toEqual(['NE-M1']);
    expect(await keys.findByMatchKey('mk-2')).toEqual([]);
  });
});
