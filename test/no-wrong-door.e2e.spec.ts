import { Client } from 'pg';
import { RunningConsortium } from '../apps/consortium/src/consortium-runner';
import { eventually, harnessState } from './harness';
import {
  api,
  readModelChecksum,
  settled,
  startTestConsortium,
  TestSetting,
  tokenFor,
} from './harness/consortium';

/**
 * The walking skeleton, end to end through HTTP: a worker at Fresh Start registers a person with consent to
 * share with Spartans and refers them there; Spartans sees the referral and the journey and accepts; North
 * Edinburgh Arts, with no consent, is refused. On real PostgreSQL and Kafka where they are here.
 */
const settings: [string, TestSetting][] = [
  [
    harnessState().realKafka && !harnessState().pglite
      ? 'on PostgreSQL and Kafka'
      : 'on what this machine has',
    'real',
  ],
  ['on the embedded default (PGlite, in-process bus)', 'embedded'],
];

describe.each(settings)('no wrong door %s', (_, setting) => {
  let c: RunningConsortium;
  let freshStart: string;
  let spartans: string;
  let projection: string;
  let fsWorker: string;
  let spWorker: string;
  let neaWorker: string;
  let personRef: string;
  let referralId: string;

  beforeAll(async () => {
    c = await startTestConsortium(setting);
    freshStart = c.partners.get('fresh-start')!.url;
    spartans = c.partners.get('spartans')!.url;
    projection = c.projection.url;
    fsWorker = await tokenFor(c, 'fresh-start', 'worker', 'dsw-amy');
    spWorker = await tokenFor(c, 'spartans', 'worker', 'coach-jo');
    neaWorker = await tokenFor(c, 'north-edinburgh-arts', 'worker', 'artist-sam');
  }, 60000);
  afterAll(() => c?.stop());

  it('1. a Fresh Start worker registers a person and records their consent to share with Spartans', async () => {
    const reg = await api(freshStart, 'POST', '/people', fsWorker, {
      name: 'Kayleigh Morrison',
      dateOfBirth: '1991-03-14',
      contact: { phone: '+44 131 555 0199', address: '12 Pennywell Road, Edinburgh' },
      whatMatters: 'Keeping my flat and my son settling at his new school',
    });
    expect(reg.status).toBe(201);
    personRef = reg.body.personRef as string;
    expect(personRef).toMatch(/^NE-[0-9A-Z]{10}$/);

    const consent = await api(freshStart, 'POST', `/people/${personRef}/consents`, fsWorker, {
      partners: ['spartans'],
      purposes: ['support', 'referral'],
    });
    expect(consent.status).toBe(201);
    expect(consent.body.consentId).toEqual(expect.any(String));
  });

  it('2. the worker records a visit and a phone call, and refers the person to Spartans with a reason', async () => {
    for (const kind of ['visit', 'phone-call']) {
      const r = await api(freshStart, 'POST', `/people/${personRef}/journey/contacts`, fsWorker, {
        kind,
        occurredAt: new Date(Date.now() - 3600_000).toISOString(),
        durationMinutes: kind === 'visit' ? 60 : 15,
        notes: `${kind}: talked about the rent arrears`,
      });
      expect(r.status).toBe(201);
    }
    const ref = await api(freshStart, 'POST', '/referrals', fsWorker, {
      personRef,
      toOrganisation: 'spartans',
      reason: 'Wants to get back into football and meet people',
    });
    expect(ref.status).toBe(201);
    referralId = ref.body.referralId as string;
  });

  it("3. a Spartans worker sees the referral in Spartans' inbox and the journey so far, and accepts", async () => {
    const item = await eventually(async () => {
      const inbox = await api(projection, 'GET', '/referrals/inbox', spWorker);
      return (inbox.body.referrals as { referralId: string }[]).find((r) => r.referralId === referralId);
    }, 'the referral in the Spartans inbox');
    expect(item).toMatchObject({
      personRef,
      from: 'fresh-start',
      status: 'requested',
      personal: { name: 'Kayleigh Morrison', reason: 'Wants to get back into football and meet people' },
    });

    const journey = await api(projection, 'GET', `/people/${personRef}/journey`, spWorker);
    expect(journey.status).toBe(200);
    expect(journey.body.person).toMatchObject({ name: 'Kayleigh Morrison', registeredBy: 'fresh-start' });
    const types = (journey.body.entries as { type: string }[]).map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['PersonRegistered', 'ConsentGiven', 'ContactRecorded', 'ReferralRequested']),
    );
    expect(types.filter((t) => t === 'ContactRecorded')).toHaveLength(2);

    // The intake may still be taking the referral into Spartans' own store: a 404 then is honest; retry.
    const accepted = await eventually(async () => {
      const r = await api(spartans, 'POST', `/referrals/${referralId}/acceptance`, spWorker);
      return r.status === 404 ? undefined : r;
    }, 'the referral to reach Spartans');
    expect(accepted.status).toBe(201);

    const closedLoop = await eventually(async () => {
      const sent = await api(projection, 'GET', '/referrals/sent', fsWorker);
      const r = (sent.body.referrals as { referralId: string; status: string }[]).find(
        (x) => x.referralId === referralId,
      );
      return r?.status === 'accepted' ? r : undefined;
    }, 'Fresh Start to see the referral accepted');
    expect(closedLoop).toMatchObject({ to: 'spartans', status: 'accepted' });

    const again = await api(spartans, 'POST', `/referrals/${referralId}/acceptance`, spWorker);
    expect(again.status).toBe(409);
  });

  it('4. a North Edinburgh Arts worker, with no consent, gets a clear refusal and no data', async () => {
    const r = await api(projection, 'GET', `/people/${personRef}/journey`, neaWorker);
    expect(r.status).toBe(403);
    expect(r.contentType).toContain('application/problem+json');
    expect(r.body.detail).toMatch(/has not consented/);
    expect(JSON.stringify(r.body)).not.toMatch(/Kayleigh|Pennywell|rent arrears/);
  });

  it('refuses a missing or bad token with 401, and nothing is readable without one', async () => {
    expect((await api(projection, 'GET', `/people/${personRef}/journey`)).status).toBe(401);
    expect((await api(projection, 'GET', '/referrals/inbox', 'not-a-token')).status).toBe(401);
    expect((await api(freshStart, 'POST', '/people', `${fsWorker}x`, {})).status).toBe(401);
    const forged = await tokenFor(c, 'spartans', 'worker');
    // A Spartans token cannot record at Fresh Start: nobody writes to another partner's records.
    expect((await api(freshStart, 'POST', `/people/${personRef}/journey/contacts`, forged, {})).status).toBe(
      403,
    );
  });

  it('answers bad input with a 400 naming the field and the reason, and writes nothing', async () => {
    const before = await c.partners
      .get('fresh-start')!
      .store.readLog({ transactionId: '0', position: 0 }, 10000);
    const r = await api(freshStart, 'POST', '/people', fsWorker, {
      name: '',
      dateOfBirth: '2999-01-01',
      whatMatters: 'x',
    });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual(
      expect.arrayContaining([
        { field: 'name', reason: 'is required' },
        { field: 'dateOfBirth', reason: 'must be a past date after 1900' },
      ]),
    );
    const notJson = await api(freshStart, 'POST', '/people', fsWorker, undefined, '{"name": ');
    expect(notJson.status).toBe(400);
    expect(notJson.body.detail).toBe('The request body is not valid JSON');
    const badContact = await api(freshStart, 'POST', `/people/${personRef}/journey/contacts`, fsWorker, {
      kind: 'carrier-pigeon',
      occurredAt: 'yesterday',
      durationMinutes: -5,
    });
    expect(badContact.status).toBe(400);
    expect((badContact.body.errors as { field: string }[]).map((e) => e.field).sort()).toEqual([
      'durationMinutes',
      'kind',
      'occurredAt',
    ]);
    const after = await c.partners
      .get('fresh-start')!
      .store.readLog({ transactionId: '0', position: 0 }, 10000);
    expect(after.length).toBe(before.length);
  });

  it('gives 409 to the loser of two concurrent edits to one record, never a lost update', async () => {
    const contact = {
      kind: 'drop-in',
      occurredAt: new Date(Date.now() - 60_000).toISOString(),
      durationMinutes: 10,
    };
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        api(freshStart, 'POST', `/people/${personRef}/journey/contacts`, fsWorker, contact),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses).toContain(201);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    const stream = await c.partners.get('fresh-start')!.store.readStream(`person-${personRef}`);
    const dropIns = stream.filter((e) => (e.data as { kind?: string }).kind === 'drop-in');
    expect(dropIns).toHaveLength(statuses.filter((s) => s === 201).length);
  });

  it('rebuilds the read models from the first event to the same state', async () => {
    await settled(c);
    const before = await readModelChecksum(c);
    await c.projection.rebuild();
    await settled(c);
    expect(await readModelChecksum(c)).toBe(before);
    const journey = await api(projection, 'GET', `/people/${personRef}/journey`, spWorker);
    expect(journey.status).toBe(200);
  });

  it('erases a person by destroying their key: no copy can be read, the counts stay', async () => {
    await settled(c);
    const before = await api(projection, 'GET', `/people/${personRef}/journey`, spWorker);
    const entriesBefore = (before.body.entries as unknown[]).length;
    const keys = await import('@app/privacy');
    const store = await keys.PostgresKeyStore.open({ url: c.databaseUrl, schema: c.schemaOf('key_service') });
    await store.erasePerson(personRef, 'the person asked to be forgotten', 'admin');
    await store.close();

    const after = await api(projection, 'GET', `/people/${personRef}/journey`, spWorker);
    expect(after.status).toBe(200);
    expect(after.body.erased).toBe(true);
    expect((after.body.entries as unknown[]).length).toBe(entriesBefore);
    expect(after.body.person).toMatchObject({ name: { erased: true }, dateOfBirth: { erased: true } });
    expect(JSON.stringify(after.body)).not.toMatch(/Kayleigh|Pennywell|rent arrears|1991-03-14/);

    // Nothing anywhere in the database holds the name or date of birth in the clear.
    const db = new Client({ connectionString: c.databaseUrl });
    await db.connect();
    try {
      const { rows: tables } = await db.query(
        `SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema LIKE $1`,
        [`${c.schemaOf('')}%`],
      );
      expect(tables.length).toBeGreaterThan(5);
      for (const t of tables) {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM "${t.table_schema}"."${t.table_name}" x WHERE x::text ~ '(Kayleigh|1991-03-14)'`,
        );
        expect({ table: `${t.table_schema}.${t.table_name}`, n: rows[0].n }).toEqual({
          table: `${t.table_schema}.${t.table_name}`,
          n: 0,
        });
      }
    } finally {
      await db.end();
    }
    const accept = await api(freshStart, 'POST', `/people/${personRef}/journey/contacts`, fsWorker, {
      kind: 'visit',
      occurredAt: new Date(Date.now() - 60_000).toISOString(),
      durationMinutes: 5,
      notes: 'after erasure',
    });
    expect(accept.status).toBe(410);
    // Nothing more is recorded about them: not a contact without notes, a consent, or a referral.
    const noNotes = {
      kind: 'visit',
      occurredAt: new Date(Date.now() - 60_000).toISOString(),
      durationMinutes: 5,
    };
    expect(
      (await api(freshStart, 'POST', `/people/${personRef}/journey/contacts`, fsWorker, noNotes)).status,
    ).toBe(410);
    const consent = { partners: ['move-on'], purposes: ['support'] };
    expect((await api(freshStart, 'POST', `/people/${personRef}/consents`, fsWorker, consent)).status).toBe(
      410,
    );
    const referral = { personRef, toOrganisation: 'move-on', reason: 'x' };
    expect((await api(freshStart, 'POST', '/referrals', fsWorker, referral)).status).toBe(410);
  });
});
