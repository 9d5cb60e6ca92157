import { RunningConsortium } from '../apps/consortium/src/consortium-runner';
import { api, settled, startTestConsortium, tokenFor } from './harness/consortium';

type Referral = { referralId: string; personal: { name: string } | null };

/** An inbox is read a page at a time, newest first, each page fetched in a handful of queries. */
describe('the referral inbox, page by page', () => {
  let c: RunningConsortium;
  beforeAll(async () => {
    c = await startTestConsortium('embedded');
  });
  afterAll(() => c?.stop());

  it('pages through every referral once, newest first, with names where consent allows', async () => {
    const fs = c.partners.get('fresh-start')!.url;
    const w = await tokenFor(c, 'fresh-start', 'worker');
    const sp = await tokenFor(c, 'spartans', 'worker');
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await api(fs, 'POST', '/people', w, {
        name: `Rory Page${i}`,
        dateOfBirth: '1990-01-01',
        whatMatters: 'x',
      });
      const ref = r.body.personRef as string;
      if (i % 2 === 0)
        await api(fs, 'POST', `/people/${ref}/consents`, w, {
          partners: ['spartans'],
          purposes: ['referral'],
        });
      const sent = await api(fs, 'POST', '/referrals', w, {
        personRef: ref,
        toOrganisation: 'spartans',
        reason: `r${i}`,
      });
      made.push(sent.body.referralId as string);
    }
    await settled(c);
    const seen: Referral[] = [];
    let before: string | null = null;
    const pages: number[] = [];
    do {
      const page = await api(
        c.projection.url,
        'GET',
        `/referrals/inbox?limit=2${before ? `&before=${before}` : ''}`,
        sp,
      );
      expect(page.status).toBe(200);
      const referrals = page.body.referrals as Referral[];
      pages.push(referrals.length);
      seen.push(...referrals);
      before = page.body.next as string | null;
    } while (before);
    expect(pages).toEqual([2, 2, 1]);
    expect(seen.map((r) => r.referralId)).toEqual([...made].reverse());
    // Names only where the person consented to share them with Spartans (people 0, 2 and 4).
    expect(seen.map((r) => r.personal?.name ?? null)).toEqual([
      'Rory Page4',
      null,
      'Rory Page2',
      null,
      'Rory Page0',
    ]);
    const bad = await api(c.projection.url, 'GET', '/referrals/inbox?before=nonsense', sp);
    expect(bad.status).toBe(400);
    expect((await api(c.projection.url, 'GET', '/referrals/inbox?limit=0', sp)).status).toBe(400);
  });
});
