import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { api, settled, startTestConsortium, tokenFor } from '../harness/consortium';
import { eventually } from '../harness/index';
import { decode, errorSummary, heading, pageShowing, signedInAs } from './portal-client';

const PASSWORD = 'a demo password for the tests';
const PARTNERS = ['fresh-start', 'move-on', 'north-edinburgh-arts', 'spartans'];

describe('portal: a statutory body’s pages', () => {
  let c: RunningConsortium;
  let packId: string;
  let hook: Server;
  let hookUrl: string;
  const received: string[] = [];

  beforeAll(async () => {
    c = await startTestConsortium(
      'real',
      {},
      { portal: { demoPassword: PASSWORD }, webhooks: { retryBaseMs: 20, intervalMs: 50, maxAttempts: 2 } },
    );
    // The body's own system, down: every delivery to it fails.
    hook = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received.push(req.url ?? '');
        res.statusCode = 503;
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;

    const fs = c.partners.get('fresh-start')!.url;
    const worker = await tokenFor(c, 'fresh-start', 'worker');
    const { body } = await api(fs, 'POST', '/people', worker, {
      name: 'Callum Reid',
      dateOfBirth: '1979-11-20',
      whatMatters: 'Work',
    });
    await api(fs, 'POST', `/people/${body.personRef}/journey/contacts`, worker, {
      kind: 'visit',
      occurredAt: new Date(Date.now() - 3600_000).toISOString(),
      durationMinutes: 30,
    });
    await settled(c);
    const steward = Object.fromEntries(
      await Promise.all(PARTNERS.map(async (p) => [p, await tokenFor(c, p, 'steward')] as const)),
    );
    const composed = await api(c.projection.url, 'POST', '/evidence-packs', steward['fresh-start'], {
      body: 'cec',
      period: { from: '2026-01-01', to: new Date().toISOString().slice(0, 10) },
    });
    packId = composed.body.packId as string;
    for (const p of PARTNERS.slice(1))
      expect(
        (await api(c.projection.url, 'POST', `/evidence-packs/${packId}/approval`, steward[p])).status,
      ).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await new Promise((r) => hook?.close(r));
    await c?.stop();
  });

  const signedIn = (userId: string) => signedInAs(c.portal.url, userId, PASSWORD);
  const until = pageShowing;

  it('sets the webhook, showing its secret once, and keeps a bad address as typed', async () => {
    const cec = await signedIn('cec-reader');
    const feed = await cec.get('/statutory/feed');
    expect(heading(feed.html)).toBe('Your feed and webhook');
    expect(feed.html).toContain('No webhook is set');
    const bad = await cec.submit('/statutory/webhook', { url: 'http://example.org/hook' });
    expect(bad.status).toBe(400);
    expect(errorSummary(bad.html)).toEqual([expect.stringMatching(/^Web address/)]);
    expect(bad.html).toContain('value="http://example.org/hook"');

    const set = await cec.submit('/statutory/webhook', { url: hookUrl });
    expect(set.status).toBe(200);
    expect(set.html).toContain('Its signing secret is shown this once');
    const secret = /<code class="portal_secret">([^<]+)<\/code>/.exec(set.html)?.[1];
    expect(secret).toBeTruthy();
    const again = await cec.get('/statutory/feed');
    expect(again.html).not.toContain(secret as string);
    expect(decode(again.html)).toContain(`Each new pack is sent to <strong>${hookUrl}</strong>`);
  });

  it('shows the published pack to its body only, readable, downloadable and verified intact', async () => {
    const fs = await tokenFor(c, 'fresh-start', 'steward');
    expect((await api(c.projection.url, 'POST', `/evidence-packs/${packId}/publication`, fs)).status).toBe(
      201,
    );

    const cec = await signedIn('cec-reader');
    expect((await cec.get('/')).url).toMatch(/\/statutory$/);
    const list = await until(cec, '/statutory', `/statutory/packs/${packId}`);
    expect(heading(list.html)).toBe('Evidence published to you');

    const pack = await cec.get(`/statutory/packs/${packId}`);
    expect(pack.status).toBe(200);
    expect(pack.html).toContain('<p class="ds_notification-panel__title">Intact</p>');
    expect(decode(pack.html)).toMatch(/<th scope="row">Fresh Start<\/th><td>Matches<\/td>/);

    const html = await cec.get(`/statutory/packs/${packId}/pack.html`);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.html).toMatch(/Evidence for City of Edinburgh Council/);
    expect(html.headers.get('content-security-policy')).toMatch(/default-src 'none'/);

    const pdf = await cec.get(`/statutory/packs/${packId}/pack.pdf`);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(pdf.headers.get('content-disposition')).toMatch(/^attachment; filename=".+\.pdf"$/);
    expect(pdf.html.slice(0, 5)).toBe('%PDF-');

    const csvLink = /href="(\/statutory\/packs\/[^"]+\/tables\/contacts\.csv)"/.exec(pack.html)?.[1];
    expect(csvLink).toBeDefined();
    const csv = await cec.get(csvLink as string);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="contacts-.+\.csv"$/);
    expect(csv.html.split('\r\n').length).toBeGreaterThan(1);

    const json = await cec.get(`/statutory/packs/${packId}/pack.json`);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(json.headers.get('content-disposition')).toMatch(/^attachment; filename="evidence-.+\.json"$/);
    expect(JSON.parse(json.html)).toMatchObject({ packId, status: 'published', body: 'cec' });
  }, 60_000);

  it('shows nothing of it to another body, nor to a worker', async () => {
    const nhs = await signedIn('nhs-lothian-reader');
    const list = await nhs.get('/statutory');
    expect(list.html).toContain('Nothing has been published to you yet');
    expect((await nhs.get(`/statutory/packs/${packId}`)).status).toBe(404);
    expect((await nhs.get(`/statutory/packs/${packId}/pack.pdf`)).status).toBe(404);
    const worker = await signedIn('fresh-start-worker');
    expect((await worker.get('/statutory')).status).toBe(403);
  });

  it('pages the feed and the deliveries with Previous and Next links', async () => {
    // Ten more packs published to the council: eleven in all, one more than a page of the feed.
    const steward = Object.fromEntries(
      await Promise.all(PARTNERS.map(async (p) => [p, await tokenFor(c, p, 'steward')] as const)),
    );
    for (let i = 0; i < 10; i++) {
      const composed = await api(c.projection.url, 'POST', '/evidence-packs', steward['fresh-start'], {
        body: 'cec',
        period: { from: `2025-${String(i + 1).padStart(2, '0')}-01`, to: '2025-12-31' },
      });
      expect(composed.status).toBe(201);
      const id = composed.body.packId as string;
      for (const p of PARTNERS.slice(1))
        await api(c.projection.url, 'POST', `/evidence-packs/${id}/approval`, steward[p]);
      expect(
        (await api(c.projection.url, 'POST', `/evidence-packs/${id}/publication`, steward['fresh-start']))
          .status,
      ).toBe(201);
    }
    const cec = await signedIn('cec-reader');
    const rows = (html: string) =>
      html.match(/<tr><th scope="row"><a href="\/statutory\/packs\//g)?.length ?? 0;
    const FEED = 'Pages of your feed';
    const DELIVERIES = 'Pages of deliveries';
    /** The address of a pagination link, in the navigation of that name. */
    const link = (html: string, nav: string, label: string): string | undefined => {
      const links = new RegExp(`aria-label="${nav}">([\\s\\S]*?)</nav>`).exec(html)?.[1] ?? '';
      const href = new RegExp(`href="([^"]+)"><span class="ds_pagination__link-label">${label}<`).exec(
        links,
      )?.[1];
      return href && decode(href);
    };
    const first = await eventually(async () => {
      const page = await cec.get('/statutory/feed');
      return link(page.html, FEED, 'Next') ? page : undefined;
    }, 'a second page of the feed');
    expect(rows(first.html)).toBe(10);
    expect(first.html).toContain(`href="/statutory/packs/${packId}">1 January 2026 to `);
    expect(link(first.html, FEED, 'Previous')).toBeUndefined();
    expect(first.html).toContain('<nav class="ds_pagination" aria-label="Pages of your feed">');

    const second = await cec.get(link(first.html, FEED, 'Next') as string);
    expect(second.status).toBe(200);
    expect(rows(second.html)).toBe(1);
    expect(link(second.html, FEED, 'Next')).toBeUndefined();
    expect(second.html).toContain('1 October 2025 to 31 December 2025');
    const back = await cec.get(link(second.html, FEED, 'Previous') as string);
    expect(rows(back.html)).toBe(10);
    expect(back.html).toContain(`/statutory/packs/${packId}">`);
    expect((await cec.get('/statutory/feed?after=not%20a%20cursor')).status).toBe(404);
    expect((await cec.get('/statutory/feed?after=bm9wZQ')).status).toBe(404);

    // Every publication went to the webhook: eleven deliveries, five a page, newest first.
    const withDeliveries = await eventually(async () => {
      const page = await cec.get('/statutory/feed');
      return decode(page.html).includes('The 11 latest') ? page : undefined;
    }, 'a delivery of every pack');
    const deliveries = (html: string) => html.match(/<h3 id="delivery-/g)?.length ?? 0;
    expect(deliveries(withDeliveries.html)).toBe(5);
    const secondDeliveries = await cec.get(link(withDeliveries.html, DELIVERIES, 'Next') as string);
    expect(deliveries(secondDeliveries.html)).toBe(5);
    const lastPage = await cec.get(link(secondDeliveries.html, DELIVERIES, 'Next') as string);
    expect(deliveries(lastPage.html)).toBe(1);
    expect(lastPage.url).toMatch(/deliveries=3$/);
    expect(link(lastPage.html, DELIVERIES, 'Next')).toBeUndefined();
    expect(link(lastPage.html, DELIVERIES, 'Previous')).toBe('/statutory/feed?deliveries=2');
  }, 120_000);

  it('lists the feed and the deliveries with their attempts, replays a dead one, and removes the webhook', async () => {
    const cec = await signedIn('cec-reader');
    const feed = await until(cec, '/statutory/feed', 'Try this delivery again');
    expect(feed.html).toMatch(new RegExp(`href="/statutory/packs/${packId}">1 January 2026 to `));
    expect(feed.html).toContain('HTTP 503');
    const action = /action="(\/statutory\/deliveries\/[0-9a-f-]{36}\/replay)"/.exec(feed.html)?.[1];
    const before = received.length;
    const replayed = await cec.submit(action as string, {});
    expect(replayed.html).toContain('The delivery will be attempted again');
    await eventually(
      async () => (received.length > before ? true : undefined),
      'the delivery to be tried again',
    );

    const removed = await cec.submit('/statutory/webhook/removal', {});
    expect(removed.html).toContain('The webhook is removed.');
    expect(removed.html).toContain('No webhook is set');
  }, 60_000);

  it('says plainly when a partner’s records changed after publication', async () => {
    const schema = c.schemaOf('partner_fresh-start');
    await c.projection.dataSource.query(
      `UPDATE ${schema}.events SET data = jsonb_set(data, '{durationMinutes}', '300')
        WHERE position = (SELECT min(position) FROM ${schema}.events WHERE event_type = 'ContactRecorded')`,
    );
    const cec = await signedIn('cec-reader');
    const pack = await cec.get(`/statutory/packs/${packId}`);
    expect(decode(pack.html)).toContain('<strong>Not intact.</strong>');
    expect(decode(pack.html)).toMatch(
      /<th scope="row">Fresh Start<\/th><td>Does not match: 1 event\(s\) altered[^<]*<\/td><td>\d+<\/td><td>Positions \d+<\/td>/,
    );
  });
});
