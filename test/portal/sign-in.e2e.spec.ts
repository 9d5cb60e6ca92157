import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { demoUsers } from '../../apps/consortium/src/demo';
import { RunningPortal, startPortal } from '../../apps/portal/src/portal';
import { addressKey } from '../../apps/portal/src/sign-in/throttle';
import { startTestConsortium } from '../harness/consortium';
import { harnessState } from '../harness/index';
import { decode, errorSummary, heading, PortalClient } from './portal-client';

const PASSWORD = 'correct horse battery staple';

describe('portal: signing in and out', () => {
  let c: RunningConsortium;
  beforeAll(async () => {
    c = await startTestConsortium('real', {}, { portal: { demoPassword: PASSWORD } });
  });
  afterAll(() => c?.stop());

  it('opens on the sign-in page, in the design system’s layout, with security headers', async () => {
    const browser = new PortalClient(c.portal.url);
    const page = await browser.get('/');
    expect(page.url).toMatch(/\/sign-in$/);
    expect(page.status).toBe(200);
    expect(heading(page.html)).toBe('Sign in');
    expect(page.html).toContain('<html lang="en-GB">');
    expect(page.html).toContain('<main class="ds_layout');
    expect(page.html).toContain('id="main-content"');
    expect(page.html).toContain('href="#main-content"');
    expect(page.html).toContain('ds_phase-banner');
    expect(page.html).toContain('NESSie');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    // Every stylesheet and script the layout names is served.
    const assets = [...page.html.matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets).toHaveLength(3);
    const script = await fetch(`${c.portal.url}/static/portal/portal.js`).then((r) => r.text());
    assets.push(/import '([^']+)'/.exec(script)?.[1] as string);
    for (const asset of assets)
      expect({ asset, status: (await fetch(`${c.portal.url}${asset}`)).status }).toEqual({
        asset,
        status: 200,
      });
  });

  it('refuses a wrong password with the design system’s error summary and inline error', async () => {
    const browser = new PortalClient(c.portal.url);
    await browser.get('/sign-in');
    const page = await browser.submit('/sign-in', { userId: 'fresh-start-worker', password: 'wrong' });
    expect(page.status).toBe(400);
    expect(errorSummary(page.html)).toEqual(['The user name or password is not right']);
    expect(page.html).toContain('<a href="#user-id">');
    expect(page.html).toContain('ds_question--error');
    expect(page.html).toContain('ds_input--error');
    expect(page.html).toContain('<title>Error: Sign in');
    expect(browser.cookies.has('hls-session')).toBe(false);
    const empty = await browser.submit('/sign-in', { userId: '', password: '' });
    expect(errorSummary(empty.html)).toEqual(['Enter your user name', 'Enter your password']);
  });

  it('signs in with a session cookie that is HttpOnly and SameSite=Lax, and signs out on the server', async () => {
    const browser = new PortalClient(c.portal.url);
    const page = await browser.signIn('fresh-start-worker', PASSWORD);
    expect(page.url).toMatch(/\/worker$/);
    expect(heading(page.html)).toBe('Find a person');
    expect(page.html).toContain('Signed in as <strong>Fresh Start Development Support Worker</strong>');
    const cookie = browser.setCookies.find((h) => h.startsWith('hls-session=')) ?? '';
    expect(cookie).toMatch(/^hls-session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i);

    const session = browser.cookies.get('hls-session') as string;
    const out = await browser.submit('/sign-out', {});
    expect(heading(out.html)).toBe('You have signed out');
    // The old cookie opens nothing any more: the session is gone from the server, not only from the browser.
    const again = new PortalClient(c.portal.url);
    again.cookies.set('hls-session', session);
    const refused = await again.get('/worker');
    expect(refused.url).toMatch(/\/sign-in$/);
  });

  it('refuses a form without this session’s CSRF token, and saves nothing', async () => {
    const browser = new PortalClient(c.portal.url);
    await browser.signIn('fresh-start-worker', PASSWORD);
    const forged = await browser.submit(
      '/worker/people',
      { name: 'Forged Person', dateOfBirth: '01/01/1990', whatMatters: 'x' },
      'not-the-token',
    );
    expect(forged.status).toBe(403);
    expect(heading(forged.html)).toBe('This form could not be sent');
    const missing = await browser.submit('/sign-out', {}, '');
    expect(missing.status).toBe(403);
    // Still signed in: the forged sign-out did nothing.
    expect((await browser.get('/worker')).status).toBe(200);
    // A sign-in form posted without the sign-in token (from another site) is refused too.
    const other = new PortalClient(c.portal.url);
    const login = await other.submit('/sign-in', { userId: 'fresh-start-worker', password: PASSWORD }, '');
    expect(login.status).toBe(403);
  });

  it('answers an unknown page with a 404 page and another role’s page with a 403 page, each saying what next', async () => {
    const browser = new PortalClient(c.portal.url);
    await browser.signIn('fresh-start-steward', PASSWORD);
    const missing = await browser.get('/no-such-page');
    expect(missing.status).toBe(404);
    expect(heading(missing.html)).toBe('Page not found');
    expect(missing.html).toContain('What you can do');
    const worker = await browser.get('/worker');
    expect(worker.status).toBe(403);
    expect(heading(worker.html)).toBe('You cannot see this page');
    expect(worker.html).toContain('This page is for worker users only.');
    expect(worker.html).toContain('Go to your home page');
  });

  it('marks its cookies Secure and __Host- where it is served over TLS', async () => {
    const portal = await startPortal({
      consortium: c.consortium,
      partnerUrls: {},
      projectionUrl: c.projection.url,
      tokenKeys: c.tokenKeys,
      databaseUrl: harnessState().databaseUrl,
      schema: `${c.schemaOf('portal')}_tls`,
      secureCookies: true,
      seedUsers: { users: demoUsers(c.consortium).slice(0, 1), password: PASSWORD },
    });
    try {
      const browser = new PortalClient(portal.url);
      await browser.get('/sign-in');
      expect(browser.setCookies[0]).toMatch(/^__Host-hls-sign-in=[^;]+;.*Secure/i);
      // The client speaks plain http to the test server, so it sends the Secure cookie back by hand.
      await browser.submit('/sign-in', { userId: 'fresh-start-worker', password: PASSWORD });
      const session = browser.setCookies.find((h) => h.startsWith('__Host-hls-session=')) ?? '';
      expect(session).toMatch(/HttpOnly/i);
      expect(session).toMatch(/Secure/i);
      expect(session).toMatch(/SameSite=Lax/i);
      expect(session).toMatch(/Path=\//);
    } finally {
      await portal.stop();
    }
  });

  it('sends a visitor who is not signed in to the sign-in page', async () => {
    const page = await new PortalClient(c.portal.url).get('/worker/referrals');
    expect(page.url).toMatch(/\/sign-in$/);
  });
  describe('limits on failed password sign-ins, kept in PostgreSQL', () => {
    let a: RunningPortal;
    let b: RunningPortal;
    let schema: string;
    let n = 0;
    /** A client address of its own for each test, as the proxy in front of the portal reports it. */
    const newAddress = () => `198.51.100.${++n}`;

    beforeAll(async () => {
      schema = `${c.schemaOf('portal')}_limits`;
      const options = {
        consortium: c.consortium,
        partnerUrls: {},
        projectionUrl: c.projection.url,
        tokenKeys: c.tokenKeys,
        databaseUrl: harnessState().databaseUrl,
        schema,
        trustProxy: 'loopback',
        signInLimits: { perAccount: 5, perAddress: 8, windowMinutes: 15 },
      };
      // Two instances of the portal on one database, as behind a load balancer.
      a = await startPortal({
        ...options,
        seedUsers: { users: demoUsers(c.consortium).slice(0, 2), password: PASSWORD },
      });
      b = await startPortal(options);
    });
    afterAll(async () => {
      await a?.stop();
      await b?.stop();
    });

    /** One password sign-in by a new visitor from `address`, not following the redirect. */
    async function attempt(portal: RunningPortal, userId: string, password: string, address: string) {
      const headers = { 'x-forwarded-for': address };
      const form = await fetch(`${portal.url}/sign-in`, { headers });
      const cookie = form.headers.getSetCookie()[0].split(';')[0];
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] as string;
      const res = await fetch(`${portal.url}/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...headers, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf, userId, password }),
      });
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        location: res.headers.get('location'),
        html: await res.text(),
      };
    }

    const failures = async (portal: RunningPortal, userId: string, times: number, address = newAddress) => {
      const statuses: number[] = [];
      for (let i = 0; i < times; i++)
        statuses.push(
          (await attempt(portal, userId, 'wrong', typeof address === 'string' ? address : address())).status,
        );
      return statuses;
    };

    it('refuses a sixth try for a user name in 15 minutes with 429 and Retry-After, even with the right password', async () => {
      expect(await failures(a, 'fresh-start-worker', 5)).toEqual([400, 400, 400, 400, 400]);
      const refused = await attempt(a, 'fresh-start-worker', PASSWORD, newAddress());
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.retryAfter);
      expect(retryAfter).toBeGreaterThan(14 * 60);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
      expect(heading(refused.html)).toBe('Too many tries to sign in');
      expect(decode(refused.html)).toMatch(/You can try again after \d\d:\d\d \(in about 15 minutes\)/);
      // Another user name is not held up by this one.
      expect((await attempt(a, 'fresh-start-steward', PASSWORD, newAddress())).status).toBe(303);
    });

    it('treats a user name that does not exist exactly like one that does, so the limit tells nothing', async () => {
      expect(await failures(a, 'nobody-at-all', 5)).toEqual([400, 400, 400, 400, 400]);
      const unknown = await attempt(a, 'nobody-at-all', 'wrong', newAddress());
      expect(unknown.status).toBe(429);
      await failures(a, 'FRESH-START-STEWARD', 5);
      const known = await attempt(a, 'fresh-start-steward', PASSWORD, newAddress());
      expect(known.status).toBe(429);
      const page = (html: string) =>
        decode(html)
          .replace(/\d\d:\d\d/g, 'HH:MM')
          .replace(/value="[^"]+"/g, '');
      expect(page(unknown.html)).toBe(page(known.html));
    });

    it('starts a user name afresh after a right password', async () => {
      await db(`DELETE FROM ${schema}.portal_sign_in_failures`);
      expect(await failures(a, 'fresh-start-worker', 4)).toEqual([400, 400, 400, 400]);
      expect((await attempt(a, 'fresh-start-worker', PASSWORD, newAddress())).status).toBe(303);
      expect(await failures(a, 'fresh-start-worker', 5)).toEqual([400, 400, 400, 400, 400]);
      expect((await attempt(a, 'fresh-start-worker', 'wrong', newAddress())).status).toBe(429);
    });

    it('limits each client address across user names, without charging it for right passwords', async () => {
      const office = newAddress();
      expect((await attempt(a, 'fresh-start-steward', PASSWORD, office)).status).toBe(303);
      const names = Array.from({ length: 8 }, (_, i) => `guess-${i}`);
      for (const name of names) expect((await attempt(a, name, 'wrong', office)).status).toBe(400);
      const refused = await attempt(a, 'guess-new', 'wrong', office);
      expect(refused.status).toBe(429);
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      // Someone at another address is not affected.
      expect((await attempt(a, 'guess-new', 'wrong', newAddress())).status).toBe(400);
    });

    it('counts across the portal’s instances, and lets a user name try again once its window has passed', async () => {
      await db(`DELETE FROM ${schema}.portal_sign_in_failures`);
      expect(await failures(a, 'fresh-start-worker', 3)).toEqual([400, 400, 400]);
      expect(await failures(b, 'fresh-start-worker', 2)).toEqual([400, 400]);
      expect((await attempt(a, 'fresh-start-worker', 'wrong', newAddress())).status).toBe(429);
      expect((await attempt(b, 'fresh-start-worker', PASSWORD, newAddress())).status).toBe(429);
      // Fifteen minutes later (the window moved back rather than the test waiting).
      await db(
        `UPDATE ${schema}.portal_sign_in_failures SET window_started = window_started - interval '15 minutes'`,
      );
      const after = await attempt(b, 'fresh-start-worker', PASSWORD, newAddress());
      expect(after.status).toBe(303);
      expect(after.location).toBe('/worker');
    });

    it('lets through no more than the limit when many tries arrive at once, across both instances', async () => {
      await db(`DELETE FROM ${schema}.portal_sign_in_failures`);
      const statuses = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          attempt(i % 2 ? a : b, 'fresh-start-steward', 'wrong', newAddress()),
        ),
      ).then((answers) => answers.map((x) => x.status));
      expect(statuses.filter((s) => s === 400)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(11);
    });

    it('counts an IPv6 client by its /64 network, and an IPv4-mapped address as the IPv4 one', () => {
      expect(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
      expect(addressKey('2001:db8:1:2::7')).toBe('2001:db8:1:2::/64');
      expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
      expect(addressKey('::ffff:198.51.100.7')).toBe('198.51.100.7');
      expect(addressKey('198.51.100.7')).toBe('198.51.100.7');
    });

    it('keeps neither the user names typed nor the addresses, only their hashes', async () => {
      const rows: { key: string }[] = await db(`SELECT key FROM ${schema}.portal_sign_in_failures`);
      expect(rows.length).toBeGreaterThan(0);
      for (const { key } of rows) expect(key).toMatch(/^(account|address):[A-Za-z0-9_-]{43}$/);
    });

    const db = (sql: string) => c.projection.dataSource.query(sql);
  });
});
