import { RunningConsortium } from '../apps/consortium/src/consortium-runner';
import { api, settled, startTestConsortium, tokenFor } from './harness/consortium';

type Body = Record<string, unknown>;

/** The stewards' view of the place: aggregates for a period, drawn from the read models, never a person. */
describe('the place view for system stewards', () => {
  let c: RunningConsortium;
  beforeAll(async () => {
    c = await startTestConsortium('embedded', {
      wellbeing: {
        swemwbs: {
          enabled: true,
          meaningfulChange: 3,
          items: Array.from({ length: 7 }, (_, i) => `item ${i}`),
        },
      },
    });
  });
  afterAll(() => c?.stop());

  it('counts people, contacts, cost, referral flows, themes and their co-occurrence, wellbeing change and learning', async () => {
    const fs = c.partners.get('fresh-start')!.url;
    const sp = c.partners.get('spartans')!.url;
    const w = await tokenFor(c, 'fresh-start', 'worker');
    const spw = await tokenFor(c, 'spartans', 'worker');
    const now = Date.now();
    const at = (hoursAgo: number) => new Date(now - hoursAgo * 3600_000).toISOString();
    const refs: string[] = [];
    for (const [i, themes] of [
      ['debt', 'housing'],
      ['debt', 'isolation'],
      ['debt', 'housing'],
    ].entries()) {
      const r = await api(fs, 'POST', '/people', w, {
        name: `Person ${i}`,
        dateOfBirth: '1980-01-01',
        whatMatters: 'x',
      });
      const ref = r.body.personRef as string;
      refs.push(ref);
      await api(fs, 'POST', `/people/${ref}/journey/contacts`, w, {
        kind: 'visit',
        occurredAt: at(50),
        durationMinutes: 60,
      });
      await api(fs, 'POST', `/people/${ref}/journey/contacts`, w, {
        kind: 'phone-call',
        occurredAt: at(40),
        durationMinutes: 10,
      });
      await api(fs, 'POST', `/people/${ref}/journey/support`, w, {
        kind: 'financial',
        occurredAt: at(30),
        costPounds: 30 * (i + 1),
      });
      await api(fs, 'POST', `/people/${ref}/journey/life-system`, w, {
        occurredAt: at(20),
        actors: [],
        factors: [],
        themes,
      });
    }
    await api(fs, 'POST', `/people/${refs[0]}/journey/wellbeing`, w, {
      occurredAt: at(48),
      items: [2, 2, 2, 2, 2, 2, 2],
    });
    await api(fs, 'POST', `/people/${refs[0]}/journey/wellbeing`, w, {
      occurredAt: at(2),
      items: [3, 3, 3, 3, 3, 3, 3],
    });
    const { referralId } = (
      await api(fs, 'POST', '/referrals', w, { personRef: refs[1], toOrganisation: 'spartans', reason: 'x' })
    ).body as { referralId: string };
    await api(fs, 'POST', '/referrals', w, { personRef: refs[2], toOrganisation: 'spartans', reason: 'y' });
    await settled(c);
    expect((await api(sp, 'POST', `/referrals/${referralId}/acceptance`, spw)).status).toBe(201);
    await api(sp, 'POST', `/people/${refs[1]}/journey/contacts`, spw, {
      kind: 'drop-in',
      occurredAt: new Date().toISOString(),
      durationMinutes: 90,
    });
    await settled(c);

    const today = new Date().toISOString().slice(0, 10);
    const steward = await tokenFor(c, 'spartans', 'steward');
    const place = await api(c.projection.url, 'GET', `/place?from=2026-01-01&to=${today}`, steward);
    expect(place.status).toBe(200);
    const body = place.body as Body;
    expect(body.peopleSupported).toBe(3);
    expect(body.byPartner).toEqual([
      expect.objectContaining({
        partner: 'fresh-start',
        peopleSupported: 3,
        contacts: 6,
        visits: 3,
        calls: 3,
        contactMinutes: 210,
        costPence: 18000,
      }),
      expect.objectContaining({ partner: 'spartans', peopleSupported: 1, contacts: 1 }),
    ]);
    expect(body.referralFlows).toEqual([
      expect.objectContaining({ from: 'fresh-start', to: 'spartans', referrals: 2, accepted: 1 }),
    ]);
    expect(body.themes).toEqual(
      expect.arrayContaining([
        { theme: 'debt', people: 3 },
        { theme: 'housing', people: 2 },
      ]),
    );
    expect(body.themesTogether).toEqual(expect.arrayContaining([{ themes: ['debt', 'housing'], people: 2 }]));
    expect(body.perJourney).toMatchObject({
      journeys: 3,
      averageCostPounds: 60,
      averageVisits: 1,
      averageCalls: 1,
    });
    expect(body.wellbeing).toMatchObject({ measured: 1, meaningfulImprovement: 1, averageChange: 3.93 });
    expect(JSON.stringify(body)).not.toMatch(/NE-|Person \d/);
    // Stewards only; a bad period is a 400.
    expect((await api(c.projection.url, 'GET', `/place?from=2026-01-01&to=${today}`, spw)).status).toBe(403);
    expect((await api(c.projection.url, 'GET', '/place?from=2026-12-01&to=2026-01-01', steward)).status).toBe(
      400,
    );
  });
});
