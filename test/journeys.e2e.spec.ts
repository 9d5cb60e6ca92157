import { Delivery } from '@app/messaging';
import { Client } from 'pg';
import { RunningConsortium } from '../apps/consortium/src/consortium-runner';
import { sweepRetention } from '../apps/projection-service/src/retention/retention';
import { eventually, testBus } from './harness';
import { api, settled, startTestConsortium, tokenFor } from './harness/consortium';

const hourAgo = () => new Date(Date.now() - 3600_000).toISOString();
type Body = Record<string, unknown>;

/**
 * The day-to-day work of partners' workers, through the HTTP APIs on real PostgreSQL and Kafka (where they
 * are here): a whole journey, closed-loop referrals through the FHIR workflow, a person walking in at another
 * door, consent and its withdrawal, the record of who read a journey, erasure and retention.
 */
describe('journeys, referrals and consent in full', () => {
  let c: RunningConsortium;
  let fs: string;
  let sp: string;
  let mo: string;
  let nea: string;
  let projection: string;
  const token: Record<string, string> = {};

  const register = async (name: string, dateOfBirth = '1988-02-03') => {
    const r = await api(fs, 'POST', '/people', token.fs, {
      name,
      dateOfBirth,
      whatMatters: 'Getting back to work',
    });
    expect(r.status).toBe(201);
    return r.body.personRef as string;
  };
  const journeyOf = async (ref: string, t: string) => api(projection, 'GET', `/people/${ref}/journey`, t);
  const referralIn = async (reader: string, id: string, box = 'inbox') =>
    eventually(async () => {
      const r = await api(projection, 'GET', `/referrals/${box}`, reader);
      return (r.body.referrals as Body[]).find((x) => x.referralId === id);
    }, `referral ${id} in the ${box}`);
  /** Moves a referral; the receiving side may still be taking it in, so its first 404 is retried. */
  const move = (base: string, t: string, id: string, body: Body) =>
    eventually(async () => {
      const r = await api(base, 'POST', `/referrals/${id}/status`, t, body);
      return r.status === 404 ? undefined : r;
    }, `referral ${id} to reach the partner`);

  beforeAll(async () => {
    c = await startTestConsortium('real', {
      wellbeing: {
        swemwbs: {
          enabled: true,
          meaningfulChange: 3,
          items: Array.from({ length: 7 }, (_, i) => `item ${i + 1}`),
        },
      },
    });
    fs = c.partners.get('fresh-start')!.url;
    sp = c.partners.get('spartans')!.url;
    mo = c.partners.get('move-on')!.url;
    nea = c.partners.get('north-edinburgh-arts')!.url;
    projection = c.projection.url;
    token.fs = await tokenFor(c, 'fresh-start', 'worker', 'dsw-amy');
    token.sp = await tokenFor(c, 'spartans', 'worker', 'coach-jo');
    token.sp2 = await tokenFor(c, 'spartans', 'worker', 'coach-lee');
    token.mo = await tokenFor(c, 'move-on', 'worker', 'mo-sam');
    token.nea = await tokenFor(c, 'north-edinburgh-arts', 'worker', 'nea-kim');
    token.nhs = await tokenFor(c, 'nhs-lothian', 'statutory-reader', 'nhs-officer');
    token.admin = await tokenFor(c, `${c.consortium.id}-admin`, 'consortium-admin', 'admin-1');
  }, 60000);
  afterAll(() => c?.stop());

  it('records a whole journey, and the consented view shows it: what matters now, the life system, support and its cost, reflections, outcomes, wellbeing', async () => {
    const ref = await register('Dana Reid');
    await api(fs, 'POST', `/people/${ref}/consents`, token.fs, {
      partners: ['move-on'],
      purposes: ['support'],
    });
    const records: [string, Body][] = [
      [
        'support',
        { kind: 'financial', occurredAt: hourAgo(), costPounds: 90, description: 'School uniform' },
      ],
      [
        'life-system',
        {
          occurredAt: hourAgo(),
          actors: [
            { name: 'Sister', relationship: 'family', helps: true },
            { name: 'Landlord', relationship: 'landlord' },
          ],
          factors: [
            { factor: 'Council tax arrears', theme: 'debt' },
            { factor: 'Long walk to school', theme: 'family' },
          ],
          relationships: ['Sister helps with childcare'],
          themes: ['housing'],
        },
      ],
      [
        'reflections',
        {
          occurredAt: hourAgo(),
          text: 'Feeling less overwhelmed',
          measures: [{ measure: 'calm', value: 6, min: 0, max: 10 }],
        },
      ],
      ['outcomes', { occurredAt: hourAgo(), words: 'Thank you for making my family happy' }],
      [
        'wellbeing',
        { occurredAt: new Date(Date.now() - 90 * 86400_000).toISOString(), items: [2, 2, 2, 2, 2, 2, 2] },
      ],
      ['wellbeing', { occurredAt: hourAgo(), items: [3, 3, 3, 3, 3, 3, 3] }],
    ];
    for (const [record, body] of records) {
      const r = await api(fs, 'POST', `/people/${ref}/journey/${record}`, token.fs, body);
      expect({ record, status: r.status }).toEqual({ record, status: 201 });
    }
    expect(
      (
        await api(fs, 'PUT', `/people/${ref}/what-matters`, token.fs, {
          whatMatters: 'A job near the school',
        })
      ).status,
    ).toBe(200);
    await settled(c);

    const j = await journeyOf(ref, token.mo);
    expect(j.status).toBe(200);
    expect(j.body.whatMatters).toBe('A job near the school');
    expect(j.body.themes).toEqual(expect.arrayContaining(['debt', 'family', 'housing']));
    expect(j.body.lifeSystem).toMatchObject({ actors: [{ name: 'Sister' }, { name: 'Landlord' }] });
    const byType = (t: string) => (j.body.entries as Body[]).filter((e) => e.type === t);
    expect(byType('SupportGiven')[0].details).toMatchObject({
      kind: 'financial',
      costPence: 9000,
      description: 'School uniform',
    });
    expect(byType('ReflectionRecorded')[0].details).toMatchObject({
      text: 'Feeling less overwhelmed',
      measures: [{ measure: 'calm', value: 6 }],
    });
    expect(byType('OutcomeRecorded')[0].details).toMatchObject({
      words: 'Thank you for making my family happy',
    });
    // SWEMWBS: all 2s is raw 14 (metric 15.32); all 3s is raw 21 (19.25): a change of 3.93, past the threshold of 3.
    expect(j.body.wellbeing).toMatchObject({
      change: { first: 15.32, latest: 19.25, change: 3.93, meaningful: true },
    });
    // Newest first.
    const times = (j.body.entries as Body[]).map((e) => Date.parse(e.occurredAt as string));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('answers 404 for wellbeing where the consortium has not switched SWEMWBS on', async () => {
    const off = await startTestConsortium('embedded');
    try {
      const base = off.partners.get('fresh-start')!.url;
      const t = await tokenFor(off, 'fresh-start', 'worker');
      const reg = await api(base, 'POST', '/people', t, {
        name: 'X Y',
        dateOfBirth: '1990-01-01',
        whatMatters: 'x',
      });
      const r = await api(base, 'POST', `/people/${reg.body.personRef}/journey/wellbeing`, t, {
        occurredAt: hourAgo(),
        items: [3, 3, 3, 3, 3, 3, 3],
      });
      expect(r.status).toBe(404);
      expect(r.body.detail).toMatch(/not switched on/);
    } finally {
      await off.stop();
    }
  });

  it('closes the loop: the recipient rejects with a reason, and the referrer sees the outcome', async () => {
    const ref = await register('Eve Grant');
    await api(fs, 'POST', `/people/${ref}/consents`, token.fs, {
      partners: ['spartans'],
      purposes: ['referral'],
    });
    const { referralId } = (
      await api(fs, 'POST', '/referrals', token.fs, {
        personRef: ref,
        toOrganisation: 'spartans',
        reason: 'Football',
      })
    ).body as { referralId: string };
    const noReason = await move(sp, token.sp, referralId, { status: 'rejected' });
    expect([noReason.status, (noReason.body.errors as Body[])[0].field]).toEqual([400, 'reason']);
    expect(
      (
        await move(sp, token.sp, referralId, {
          status: 'rejected',
          reason: 'No places for adults until spring',
        })
      ).status,
    ).toBe(200);
    const seen = await eventually(async () => {
      const r = await referralIn(token.fs, referralId, 'sent');
      return r.status === 'rejected' ? r : undefined;
    }, 'the referrer to see the rejection');
    expect(seen).toMatchObject({ to: 'spartans', status: 'rejected' });
    // And it is final for the recipient.
    expect((await move(sp, token.sp, referralId, { status: 'accepted' })).status).toBe(409);
  });

  it('walks the FHIR workflow on the receiving side, puts it in the accepting worker’s own inbox, and measures time to first contact', async () => {
    const ref = await register('Finn Lowe');
    await api(fs, 'POST', `/people/${ref}/consents`, token.fs, {
      partners: ['spartans'],
      purposes: ['support'],
    });
    const { referralId } = (
      await api(fs, 'POST', '/referrals', token.fs, {
        personRef: ref,
        toOrganisation: 'spartans',
        reason: 'Wants a team',
      })
    ).body as { referralId: string };
    for (const [status, reason] of [
      ['accepted'],
      ['in-progress'],
      ['on-hold', 'Injured, back in a month'],
      ['in-progress'],
    ]) {
      const r = await move(sp, token.sp, referralId, reason ? { status, reason } : { status });
      expect({ status, code: r.status }).toEqual({ status, code: 200 });
    }
    expect(
      (
        await api(sp, 'POST', `/people/${ref}/journey/contacts`, token.sp, {
          kind: 'drop-in',
          occurredAt: new Date().toISOString(),
          durationMinutes: 60,
        })
      ).status,
    ).toBe(201);
    const mine = await eventually(async () => {
      const r = await api(projection, 'GET', '/referrals/inbox?mine=true', token.sp);
      return (r.body.referrals as Body[]).find(
        (x) => x.referralId === referralId && x.status === 'in-progress' && x.firstContactAt,
      );
    }, 'the referral in coach-jo’s own inbox, in progress, with a first contact');
    expect(mine).toMatchObject({ assignee: 'coach-jo' });
    const others = await api(projection, 'GET', '/referrals/inbox?mine=true', token.sp2);
    expect((others.body.referrals as Body[]).map((x) => x.referralId)).not.toContain(referralId);
    expect((await move(sp, token.sp, referralId, { status: 'completed' })).status).toBe(200);
  });

  it('lets the referrer cancel, and the recipient then cannot accept what was cancelled', async () => {
    const ref = await register('Gus Hart');
    const { referralId } = (
      await api(fs, 'POST', '/referrals', token.fs, {
        personRef: ref,
        toOrganisation: 'move-on',
        reason: 'Housing advice',
      })
    ).body as { referralId: string };
    await eventually(
      async () =>
        ((await api(projection, 'GET', '/referrals/inbox', token.mo)).body.referrals as Body[]).some(
          (x) => x.referralId === referralId,
        ) || undefined,
      'the referral at Move On',
    );
    expect(
      (
        await api(fs, 'POST', `/referrals/${referralId}/status`, token.fs, {
          status: 'cancelled',
          reason: 'The person found a flat',
        })
      ).status,
    ).toBe(200);
    await eventually(async () => {
      const held = await c.partners.get('move-on')!.store.readStream(`referral-${referralId}`);
      return held.some((e) => e.type === 'ReferralUpdateReceived') ? true : undefined;
    }, 'Move On to take in the cancellation');
    const refused = await api(mo, 'POST', `/referrals/${referralId}/acceptance`, token.mo);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/cancelled/);
  });

  it('pushes a referral up to a statutory service without the person: no reference, no name, no reason', async () => {
    const ref = await register('Hana Ito');
    await api(fs, 'POST', `/people/${ref}/consents`, token.fs, {
      partners: ['spartans'],
      purposes: ['support', 'referral'],
    });
    const { referralId } = (
      await api(fs, 'POST', '/referrals', token.fs, {
        personRef: ref,
        toOrganisation: 'nhs-lothian',
        reason: 'Needs a GP',
      })
    ).body as { referralId: string };
    const item = await referralIn(token.nhs, referralId);
    expect(item).toMatchObject({ personRef: null, personal: null, from: 'fresh-start', status: 'requested' });
    expect(JSON.stringify(item)).not.toMatch(/Hana|GP|NE-/);
  });

  it('finds a person who walks in at another door by a keyed hash, says only that a journey exists, and shares it once they consent', async () => {
    const ref = await register('Iona Black', '1975-12-01');
    const look = await api(nea, 'POST', '/people/lookup', token.nea, {
      name: '  iona BLACK ',
      dateOfBirth: '1975-12-01',
    });
    expect(look.status).toBe(200);
    expect(look.body).toMatchObject({ found: true, journeys: [{ personRef: ref, knownHere: false }] });
    expect(JSON.stringify(look.body)).not.toMatch(/Getting back to work|fresh-start/);
    expect(
      (await api(nea, 'POST', '/people/lookup', token.nea, { name: 'Iona Black', dateOfBirth: '1975-12-02' }))
        .body.found,
    ).toBe(false);
    // Without consent: refused, nothing of the content.
    await settled(c);
    expect((await journeyOf(ref, token.nea)).status).toBe(403);
    // The identifiers must match the reference to welcome them here.
    expect(
      (
        await api(nea, 'POST', `/people/${ref}/arrival`, token.nea, {
          name: 'Someone Else',
          dateOfBirth: '1975-12-01',
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await api(nea, 'POST', `/people/${ref}/arrival`, token.nea, {
          name: 'Iona Black',
          dateOfBirth: '1975-12-01',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api(nea, 'POST', `/people/${ref}/consents`, token.nea, {
          partners: ['north-edinburgh-arts'],
          purposes: ['support'],
        })
      ).status,
    ).toBe(201);
    const j = await eventually(async () => {
      const r = await journeyOf(ref, token.nea);
      return r.status === 200 && r.body.person ? r : undefined;
    }, 'the shared journey at North Edinburgh Arts');
    expect(j.body.person).toMatchObject({ name: 'Iona Black', registeredBy: 'fresh-start' });
  });

  it('withdrawal takes effect within one projection step, and the consent history shows it', async () => {
    const ref = await register('Jay Moss');
    const { consentId } = (
      await api(fs, 'POST', `/people/${ref}/consents`, token.fs, {
        partners: ['spartans'],
        purposes: ['support'],
      })
    ).body as { consentId: string };
    await settled(c);
    expect((await journeyOf(ref, token.sp)).status).toBe(200);
    expect((await api(fs, 'POST', `/people/${ref}/consents/${consentId}/withdrawal`, token.fs)).status).toBe(
      201,
    );
    await settled(c); // the withdrawal's own projection step
    const refused = await journeyOf(ref, token.sp);
    expect(refused.status).toBe(403);
    const history = await api(projection, 'GET', `/people/${ref}/consents`, token.fs);
    expect(history.body.consents).toEqual([
      expect.objectContaining({
        consentId,
        partners: ['spartans'],
        purposes: ['support'],
        inForce: false,
        withdrawnAt: expect.any(String),
      }),
    ]);
  });

  // No consent, no sharing: one row per purpose, what it opens, and that nothing else opens it.
  it.each([
    ['support', 'the whole journey', true, false],
    ['referral', 'the name and reason on a referral to them', false, true],
    ['case-study', 'neither the journey nor the referral details', false, false],
    ['aggregate-evidence', 'neither the journey nor the referral details', false, false],
  ])('consent for %s opens %s', async (purpose, _what, opensJourney, opensReferral) => {
    const ref = await register(`Kim ${purpose}`);
    await api(fs, 'POST', `/people/${ref}/consents`, token.fs, {
      partners: ['spartans'],
      purposes: [purpose],
    });
    const { referralId } = (
      await api(fs, 'POST', '/referrals', token.fs, {
        personRef: ref,
        toOrganisation: 'spartans',
        reason: 'Football',
      })
    ).body as { referralId: string };
    await settled(c);
    expect((await journeyOf(ref, token.sp)).status).toBe(opensJourney ? 200 : 403);
    const item = await referralIn(token.sp, referralId);
    if (opensReferral || opensJourney)
      expect(item.personal).toEqual({ name: `Kim ${purpose}`, reason: 'Football' });
    else expect(item).toMatchObject({ personal: null, withheld: expect.stringMatching(/not consented/) });
    // Consent to one partner opens nothing to another.
    expect((await journeyOf(ref, token.mo)).status).toBe(403);
  });

  it('records every read of a journey by another organisation, and the holding partner’s worker can list them', async () => {
    const ref = await register('Lou Park');
    await api(fs, 'POST', `/people/${ref}/consents`, token.fs, {
      partners: ['spartans'],
      purposes: ['support'],
    });
    await settled(c);
    await api(projection, 'GET', `/people/${ref}/journey?purpose=planning%20a%20first%20session`, token.sp);
    await journeyOf(ref, token.fs); // the holder reading its own entries is not an outside read
    const reads = await api(projection, 'GET', `/people/${ref}/reads`, token.fs);
    expect(reads.status).toBe(200);
    expect(reads.body.reads).toEqual([
      {
        organisation: 'spartans',
        user: 'coach-jo',
        purpose: 'planning a first session',
        at: expect.any(String),
      },
    ]);
    expect((await api(projection, 'GET', `/people/${ref}/reads`, token.sp)).status).toBe(403);
  });

  it('erases a person through their partner: their name and date of birth are in no table and no Kafka message; counts stay', async () => {
    const name = 'Morag Quinnell';
    const dob = '1969-07-21';
    const r = await api(fs, 'POST', '/people', token.fs, {
      name,
      dateOfBirth: dob,
      whatMatters: 'Her allotment',
    });
    const ref = r.body.personRef as string;
    await api(fs, 'POST', `/people/${ref}/consents`, token.fs, {
      partners: ['spartans'],
      purposes: ['support'],
    });
    await api(fs, 'POST', `/people/${ref}/journey/support`, token.fs, {
      kind: 'practical',
      occurredAt: hourAgo(),
      costPounds: 12.5,
    });
    await settled(c);
    const before = await journeyOf(ref, token.sp);
    expect(before.body.person).toMatchObject({ name });

    expect(
      (await api(fs, 'POST', `/people/${ref}/erasure`, token.fs, { ground: 'person-request' })).status,
    ).toBe(403);
    expect(
      (await api(fs, 'POST', `/people/${ref}/erasure`, token.admin, { ground: 'person-request' })).status,
    ).toBe(201);
    await settled(c);
    const after = await journeyOf(ref, token.sp);
    expect(after.body).toMatchObject({
      erased: true,
      person: { name: { erased: true }, dateOfBirth: { erased: true } },
    });
    expect((after.body.entries as Body[]).length).toBe((before.body.entries as Body[]).length + 1); // + PersonErased
    const support = (after.body.entries as Body[]).find((e) => e.type === 'SupportGiven');
    expect(support?.details).toMatchObject({ costPence: 1250 });
    expect((await api(nea, 'POST', '/people/lookup', token.nea, { name, dateOfBirth: dob })).body.found).toBe(
      false,
    );

    // Every table of every component.
    const db = new Client({ connectionString: c.databaseUrl });
    await db.connect();
    try {
      const { rows: tables } = await db.query(
        'SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema LIKE $1',
        [`${c.schemaOf('')}%`],
      );
      expect(tables.length).toBeGreaterThan(10);
      for (const t of tables) {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM "${t.table_schema}"."${t.table_name}" x WHERE x::text ~ $1`,
          [`(Quinnell|${dob})`],
        );
        expect({ table: `${t.table_schema}.${t.table_name}`, n: rows[0].n }).toEqual({
          table: `${t.table_schema}.${t.table_name}`,
          n: 0,
        });
      }
    } finally {
      await db.end();
    }
    // Every message on every topic, from the beginning.
    const bus = testBus(c.consortium.id, 'erasure-check');
    const seen: Delivery[] = [];
    const sub = await bus.subscribe(
      {
        groupId: `erasure-check-${Date.now()}`,
        topics: ['person', 'team', 'organisation', 'place'].map((s) => `${c.consortium.id}.${s}-scale`),
        fromBeginning: true,
      },
      async (b) => {
        seen.push(...b);
        return undefined;
      },
    );
    try {
      await eventually(
        async () =>
          seen.some((d) => d.event.subject === ref && d.event.type.includes('PersonErased'))
            ? true
            : undefined,
        'every message to be read',
        30000,
      );
      const recorded = await c.partners.get('fresh-start')!.store.readStream(`person-${ref}`);
      const onKafka = new Set(seen.map((d) => d.event.id));
      expect(recorded.filter((e) => !onKafka.has(e.id))).toEqual([]);
      expect(seen.filter((d) => JSON.stringify(d.event).match(/Quinnell|1969-07-21/))).toEqual([]);
    } finally {
      await sub.stop();
      await bus.close();
    }
    // And nothing more is recorded about them.
    expect(
      (
        await api(fs, 'POST', `/people/${ref}/journey/contacts`, token.fs, {
          kind: 'visit',
          occurredAt: hourAgo(),
          durationMinutes: 5,
        })
      ).status,
    ).toBe(410);
  });

  it('ends retention by kind and year, and a person’s identity after their last activity, by destroying keys', async () => {
    const ref = await register('Nell Orr');
    await api(fs, 'POST', `/people/${ref}/consents`, token.fs, {
      partners: ['spartans'],
      purposes: ['support'],
    });
    await api(fs, 'POST', `/people/${ref}/journey/contacts`, token.fs, {
      kind: 'visit',
      occurredAt: '2018-05-01T10:00:00Z',
      durationMinutes: 30,
      notes: 'Old notes',
    });
    await api(fs, 'POST', `/people/${ref}/journey/contacts`, token.fs, {
      kind: 'visit',
      occurredAt: hourAgo(),
      durationMinutes: 30,
      notes: 'Recent notes',
    });
    await settled(c);
    const keys = await keysOf(c);
    const now = await sweepRetention(c.consortium, keys, c.projection.dataSource, new Date());
    expect(now.erasedPeople).not.toContain(ref);
    const notes = async () =>
      ((await journeyOf(ref, token.sp)).body.entries as Body[])
        .filter((e) => e.type === 'ContactRecorded')
        .map((e) => (e.details as Body).notes);
    expect(await notes()).toEqual(['Recent notes', { erased: true }]);
    // Seven years on, with no activity since, the identity goes too.
    const later = await sweepRetention(
      c.consortium,
      keys,
      c.projection.dataSource,
      new Date(Date.now() + 7 * 366 * 86400_000),
    );
    expect(later.erasedPeople).toContain(ref);
    expect((await journeyOf(ref, token.sp)).body).toMatchObject({
      erased: true,
      person: { name: { erased: true } },
    });
  });
});

async function keysOf(c: RunningConsortium) {
  const { PostgresKeyStore } = await import('@app/privacy');
  return PostgresKeyStore.open({ url: c.databaseUrl, schema: c.schemaOf('key_service') });
}
