import { createHmac } from 'node:crypto';
import { isRecoverable, PublishedTable, recoverAcrossPacks } from '@app/domain';
import { RunningConsortium } from '../apps/consortium/src/consortium-runner';
import { verifyPackCommand } from '../scripts/verify-pack';
import { api, settled, startTestConsortium, tokenFor } from './harness/consortium';
import { receiver } from './harness/evidence';
import { eventually } from './harness/index';

type Body = Record<string, unknown>;
type Table = PublishedTable & { id: string };

/**
 * Evidence that travels up: a steward composes a pack for a statutory body from the place's read models, the
 * other stewards approve it, it is published signed, the body receives it by feed and by webhook, and anyone can
 * check it against the partners' own logs.
 */
describe.each(['real', 'embedded'] as const)('evidence packs for statutory bodies (%s)', (setting) => {
  let c: RunningConsortium;
  let fs: string;
  let projection: string;
  const token: Record<string, string> = {};
  const today = new Date().toISOString().slice(0, 10);
  const period = { from: '2026-01-01', to: today };
  const people: string[] = [];
  let packId: string;

  beforeAll(async () => {
    c = await startTestConsortium(
      setting,
      {},
      { webhooks: { retryBaseMs: 50, intervalMs: 50, maxAttempts: 3 } },
    );
    fs = c.partners.get('fresh-start')!.url;
    projection = c.projection.url;
    for (const p of ['fresh-start', 'move-on', 'north-edinburgh-arts', 'spartans'])
      token[p] = await tokenFor(c, p, 'steward');
    token.worker = await tokenFor(c, 'fresh-start', 'worker');
    token.spWorker = await tokenFor(c, 'spartans', 'worker');
    token.cec = await tokenFor(c, 'cec', 'statutory-reader');
    token.nhs = await tokenFor(c, 'nhs-lothian', 'statutory-reader');
    const at = new Date(Date.now() - 3600_000).toISOString();
    // Twelve people at Fresh Start with visits; three of them referred to Spartans, who takes one on.
    for (let i = 0; i < 12; i++) {
      const r = await api(fs, 'POST', '/people', token.worker, {
        name: `Morag Fairbairn${i}`,
        dateOfBirth: '1985-03-02',
        whatMatters: 'x',
      });
      people.push(r.body.personRef as string);
      await api(fs, 'POST', `/people/${r.body.personRef}/journey/contacts`, token.worker, {
        kind: 'visit',
        occurredAt: at,
        durationMinutes: 30,
      });
    }
    for (const ref of people.slice(0, 3)) {
      await api(fs, 'POST', `/people/${ref}/consents`, token.worker, {
        partners: ['fresh-start', 'spartans'],
        purposes: ['support', 'referral', ...(ref === people[0] ? ['case-study'] : [])],
      });
      await api(fs, 'POST', '/referrals', token.worker, {
        personRef: ref,
        toOrganisation: 'spartans',
        reason: 'x',
      });
    }
    // The issue log: an issue for government, and what the consortium asks of the council.
    const raised = await api(fs, 'POST', '/issues', token['fresh-start'], {
      description: 'Benefit sanctions leave families without money for weeks',
      level: 3,
      owner: 'government',
      raisedFrom: { kind: 'journey-pattern', ref: 'sanctions' },
    });
    const issueId = raised.body.issueId as string;
    const ask = await api(fs, 'POST', `/issues/${issueId}/asks`, token['fresh-start'], {
      body: 'cec',
      ask: 'Fund a crisis grant that pays within two days',
    });
    expect(ask.status).toBe(201);
    expect(
      (
        await api(fs, 'POST', `/issues/${issueId}/ask-outcomes`, token['fresh-start'], {
          askId: ask.body.askId,
          outcome: 'partly-agreed',
          response: 'Piloting in two wards',
        })
      ).status,
    ).toBe(201);
    // Spartans records each referral it receives on its own side (its intake follows Kafka): wait for all three
    // before settling, or the projection could settle before Spartans' log has anything to show.
    await eventually(async () => {
      const [{ n }] = await c.projection.dataSource.query(
        `SELECT count(*)::int AS n FROM ${c.schemaOf('partner_spartans')}.events`,
      );
      return n >= 3 ? n : undefined;
    }, "Spartans' intake of the three referrals");
    await settled(c);
  }, 120_000);
  afterAll(() => c?.stop());

  /** The command-line check, as a body's analyst would run it: the exit status says whether the pack is intact. */
  const verifyByCommand = async (bearer: string) => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const partners = [...c.partners].flatMap(([id, p]) => ['--partner', `${id}=${p.url}`]);
      const pack = `${projection}/evidence-packs/${packId}`;
      const code = await verifyPackCommand([
        '--pack',
        pack,
        '--token',
        bearer,
        '--projection',
        projection,
        ...partners,
      ]);
      return { code, report: log.mock.calls.map((call) => call.join(' ')).join('\n') };
    } finally {
      log.mockRestore();
    }
  };

  it('asks a statutory body only about an issue at level 3 or for government, and only a body the consortium names', async () => {
    const raised = await api(fs, 'POST', '/issues', token['fresh-start'], {
      description: 'Waiting lists',
      level: 1,
      owner: 'team',
      raisedFrom: { kind: 'other', ref: 'x' },
    });
    const id = raised.body.issueId as string;
    expect(
      (await api(fs, 'POST', `/issues/${id}/asks`, token['fresh-start'], { body: 'cec', ask: 'x' })).status,
    ).toBe(409);
    expect(
      (await api(fs, 'POST', `/issues/${id}/asks`, token['fresh-start'], { body: 'nobody', ask: 'x' }))
        .status,
    ).toBe(400);
    expect(
      (await api(fs, 'POST', `/issues/${id}/asks`, token.worker, { body: 'cec', ask: 'x' })).status,
    ).toBe(403);
  });

  it('refuses a case study without the person’s consent, or one that names them, and writes nothing', async () => {
    const compose = (caseStudy: Body) =>
      api(projection, 'POST', '/evidence-packs', token['fresh-start'], {
        body: 'cec',
        period,
        caseStudies: [caseStudy],
      });
    const story = {
      situation: 'A mother of two, behind on rent',
      whatWasDone: 'Visits, a grant, a referral to football',
      whatChangedForThePerson: 'Rent paid; the children play on Saturdays',
    };
    const noConsent = await compose({ personRef: people[1], ...story });
    expect(noConsent.status).toBe(403);
    expect(noConsent.body.detail).toMatch(/case-study/);
    const named = await compose({
      personRef: people[0],
      ...story,
      situation: 'Morag Fairbairn0 was behind on rent',
    });
    expect(named.status).toBe(400);
    expect(named.body.detail).toMatch(/names the person/);
    expect((await api(projection, 'GET', '/evidence-packs', token['fresh-start'])).body).toEqual([]);
  });

  it('composes a pack with disclosure control, the issues and asks, and a consented case study', async () => {
    const composed = await api(projection, 'POST', '/evidence-packs', token['fresh-start'], {
      body: 'cec',
      period,
      caseStudies: [
        {
          personRef: people[0],
          situation: 'A mother of two, behind on rent',
          whatWasDone: 'Visits, a grant, a referral to football',
          whatChangedForThePerson: 'Rent paid; the children play on Saturdays',
          systemChanges: ['Crisis grants paid within two days'],
          methodChanges: ['Ask what matters first'],
        },
      ],
    });
    expect(composed.status).toBe(201);
    packId = composed.body.packId as string;
    const pack = (await api(projection, 'GET', `/evidence-packs/${packId}`, token['move-on']))
      .body as Body & {
      contents: Body & { tables: Table[]; caseStudies: Body[]; issues: Body[]; provenance: Body[] };
    };
    expect(pack.status).toBe('composed');
    const tables = pack.contents.tables;
    for (const t of tables) {
      // No count from 1 to 9 is published, and none that is suppressed can be worked out from the rest.
      const published = [...t.cells.flat(), ...t.rowTotals, ...t.columnTotals, t.grandTotal];
      expect(published.filter((v) => v !== null && v >= 1 && v <= 9)).toEqual([]);
      expect(isRecoverable(t)).toEqual([]);
    }
    const contacts = tables.find((t) => t.id === 'contacts')!;
    expect(contacts.cells[0][0]).toBe(12); // Fresh Start's twelve visits are published
    const referrals = tables.find((t) => t.id === 'referrals')!;
    expect(referrals.grandTotal).toBeNull(); // three referrals: too few to publish, and so is every line with them
    expect(JSON.stringify(pack.contents)).not.toMatch(/NE-|Morag|Fairbairn/);
    expect(pack.contents.caseStudies).toEqual([
      expect.objectContaining({
        situation: 'A mother of two, behind on rent',
        costAndEffort: { moneySpentPounds: 0, visits: 1, calls: 0, contacts: 1, partners: 1 },
      }),
    ]);
    expect(pack.contents.issues).toEqual([
      expect.objectContaining({
        level: 3,
        owner: 'government',
        asks: [
          expect.objectContaining({
            ask: 'Fund a crisis grant that pays within two days',
            outcome: 'partly-agreed',
          }),
        ],
      }),
    ]);
    // Fresh Start's log, and Spartans' (its record of the referrals it received).
    expect(pack.contents.provenance).toEqual([
      expect.objectContaining({
        partner: 'fresh-start',
        events: expect.any(Number),
        digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      }),
      expect.objectContaining({ partner: 'spartans', events: 3 }),
    ]);
  });

  it('is published only when every partner has approved, each once', async () => {
    const publish = () =>
      api(projection, 'POST', `/evidence-packs/${packId}/publication`, token['fresh-start']);
    expect(
      (await api(projection, 'POST', `/evidence-packs/${packId}/approval`, token['fresh-start'])).status,
    ).toBe(409);
    expect(
      (await api(projection, 'POST', `/evidence-packs/${packId}/approval`, token['move-on'])).status,
    ).toBe(201);
    expect(
      (await api(projection, 'POST', `/evidence-packs/${packId}/approval`, token['move-on'])).status,
    ).toBe(409);
    expect(
      (await api(projection, 'POST', `/evidence-packs/${packId}/approval`, token['north-edinburgh-arts']))
        .status,
    ).toBe(201);
    const early = await publish();
    expect(early.status).toBe(409);
    expect(early.body.detail).toMatch(/needs 1 more approval/);
    expect((await api(projection, 'POST', `/evidence-packs/${packId}/approval`, token.spWorker)).status).toBe(
      403,
    );
    expect((await api(projection, 'POST', `/evidence-packs/${packId}/approval`, token.spartans)).status).toBe(
      201,
    );
    const published = await publish();
    expect(published.status).toBe(201);
    expect(published.body.status).toBe('published');
  });

  it('shows a body only what is published to it, as JSON, HTML, PDF and CSV, and verifies it', async () => {
    // The list and the feed follow the consortium's log in commit order: a moment after publication.
    const listed = await eventually(async () => {
      const r = await api(projection, 'GET', '/evidence-packs', token.cec);
      return (r.body as unknown as Body[]).length ? r.body : undefined;
    }, 'the pack to be listed');
    expect(listed).toEqual([expect.objectContaining({ packId, status: 'published', body: 'cec' })]);
    expect((await api(projection, 'GET', '/evidence-packs', token.nhs)).body).toEqual([]);
    expect((await api(projection, 'GET', `/evidence-packs/${packId}`, token.nhs)).status).toBe(404);
    expect((await api(projection, 'GET', `/evidence-packs/${packId}`, token.worker)).status).toBe(403);
    const html = await api(projection, 'GET', `/evidence-packs/${packId}/pack.html`, token.cec);
    expect(html.contentType).toMatch(/text\/html/);
    expect(html.body.text).toMatch(/Evidence for City of Edinburgh Council/);
    const csv = await fetch(`${projection}/evidence-packs/${packId}/tables/contacts.csv`, {
      headers: { authorization: `Bearer ${token.cec}` },
    });
    expect((await csv.text()).split('\r\n')[1]).toMatch(/^Fresh Start,12,/);
    const pdf = await fetch(`${projection}/evidence-packs/${packId}/pack.pdf`, {
      headers: { authorization: `Bearer ${token.cec}` },
    });
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(
      Buffer.from(await pdf.arrayBuffer())
        .subarray(0, 5)
        .toString(),
    ).toBe('%PDF-');
    const verified = await api(projection, 'GET', `/evidence-packs/${packId}/verification`, token.cec);
    expect(verified.body).toMatchObject({ intact: true, digestMatches: true, signatureValid: true });
    expect(await verifyByCommand(token.cec)).toEqual({ code: 0, report: expect.stringMatching(/INTACT/) });
  }, 60_000);

  it('feeds the body by cursor, never missing or repeating an entry, and only its own feed', async () => {
    const first = await eventually(async () => {
      const r = await api(projection, 'GET', '/feeds/cec?limit=10', token.cec);
      return (r.body.entries as Body[]).length ? r : undefined;
    }, 'the feed to carry the pack');
    expect(first.body.entries).toEqual([expect.objectContaining({ packId, body: 'cec' })]);
    const again = await api(projection, 'GET', `/feeds/cec?after=${first.body.next}`, token.cec);
    expect(again.body.entries).toEqual([]);
    expect((await api(projection, 'GET', '/feeds/cec', token.nhs)).status).toBe(403);
    expect((await api(projection, 'GET', '/feeds/cec?after=nonsense', token.cec)).status).toBe(400);
  });

  it('pushes a publication to the body’s webhook, signed, retrying until it is taken, and replays a dead one', async () => {
    const hook = await receiver([500, 200]);
    try {
      const set = await api(projection, 'PUT', '/feeds/nhs-lothian/webhook', token.nhs, { url: hook.url });
      expect(set.status).toBe(200);
      const secret = set.body.secret as string;
      expect(
        (
          await api(projection, 'PUT', '/feeds/nhs-lothian/webhook', token.nhs, {
            url: 'http://example.org/x',
          })
        ).status,
      ).toBe(400);
      const second = await api(projection, 'POST', '/evidence-packs', token.spartans, {
        body: 'nhs-lothian',
        period,
      });
      const id = second.body.packId as string;
      for (const p of ['fresh-start', 'move-on', 'north-edinburgh-arts'])
        await api(projection, 'POST', `/evidence-packs/${id}/approval`, token[p]);
      expect(
        (await api(projection, 'POST', `/evidence-packs/${id}/publication`, token.spartans)).status,
      ).toBe(201);
      await eventually(
        async () => (hook.received.length >= 2 ? true : undefined),
        'the webhook to be retried',
      );
      const last = hook.received[1];
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(last.headers['x-hls-signature'] as string)!;
      expect(createHmac('sha256', secret).update(`${t}.${last.body}`).digest('hex')).toBe(v1);
      expect(JSON.parse(last.body)).toMatchObject({ packId: id, body: 'nhs-lothian' });
      const log = await eventually(async () => {
        const r = await api(projection, 'GET', '/feeds/nhs-lothian/webhook', token.nhs);
        const [d] = r.body.deliveries as Body[];
        return d?.status === 'delivered' ? d : undefined;
      }, 'the delivery to be logged');
      expect((log.attemptLog as Body[]).map((a) => a.statusCode)).toEqual([500, 200]);

      // The earlier pack's tables are taken into account: nothing suppressed now can be had by differencing.
      const earlier = (await api(projection, 'GET', `/evidence-packs/${packId}`, token.spartans)).body
        .contents as { tables: Table[] };
      const later = (await api(projection, 'GET', `/evidence-packs/${id}`, token.spartans)).body.contents as {
        tables: Table[];
      };
      for (const t of later.tables) {
        const before = earlier.tables.filter((e) => e.id === t.id);
        expect(recoverAcrossPacks(before, t).later).toEqual([]);
      }

      // A body whose system is down for longer than the retries: the delivery dies, and is replayed after.
      hook.answers.splice(0, hook.answers.length, 503);
      const third = await api(projection, 'POST', '/evidence-packs', token.spartans, {
        body: 'nhs-lothian',
        period,
      });
      const id3 = third.body.packId as string;
      for (const p of ['fresh-start', 'move-on', 'north-edinburgh-arts'])
        await api(projection, 'POST', `/evidence-packs/${id3}/approval`, token[p]);
      await api(projection, 'POST', `/evidence-packs/${id3}/publication`, token.spartans);
      const dead = await eventually(async () => {
        const r = await api(projection, 'GET', '/feeds/nhs-lothian/webhook', token.nhs);
        const d = (r.body.deliveries as Body[]).find((x) => x.packId === id3);
        return d?.status === 'dead' ? d : undefined;
      }, 'the delivery to die');
      expect(dead.attempts).toBe(3);
      hook.answers.splice(0, hook.answers.length, 200);
      const replay = await api(
        projection,
        'POST',
        `/feeds/nhs-lothian/deliveries/${dead.deliveryId}/replay`,
        token.nhs,
      );
      expect(replay.status).toBe(202);
      await eventually(async () => {
        const r = await api(projection, 'GET', '/feeds/nhs-lothian/webhook', token.nhs);
        const d = (r.body.deliveries as Body[]).find((x) => x.packId === id3);
        return d?.status === 'delivered' ? d : undefined;
      }, 'the replayed delivery to arrive');
    } finally {
      await hook.close();
    }
  }, 60_000);

  it('reports an event altered since the pack was published', async () => {
    const schema = c.schemaOf('partner_fresh-start');
    const [{ position }] = await c.projection.dataSource.query(
      `SELECT min(position)::int AS position FROM ${schema}.events WHERE event_type = 'ContactRecorded'`,
    );
    await c.projection.dataSource.query(
      `UPDATE ${schema}.events SET data = jsonb_set(data, '{durationMinutes}', '300') WHERE position = $1`,
      [position],
    );
    const verified = await api(projection, 'GET', `/evidence-packs/${packId}/verification`, token.cec);
    expect(verified.body).toMatchObject({ intact: false, digestMatches: true, signatureValid: true });
    expect(verified.body.partners).toEqual([
      expect.objectContaining({ partner: 'fresh-start', matches: false, altered: [position] }),
      expect.objectContaining({ partner: 'spartans', matches: true, altered: [] }),
    ]);
    const byCommand = await verifyByCommand(token.cec);
    expect(byCommand.code).toBe(1);
    expect(byCommand.report).toMatch(new RegExp(`FAILED\\s+fresh-start.*altered: ${position}`));
  });
});
