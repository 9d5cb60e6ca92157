import { createHash } from 'node:crypto';
import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { RunningPortal } from '../../apps/portal/src/portal';
import { startTestConsortium } from '../harness/consortium';
import { BrowserPage, CrossSiteBrowser, TestIssuer } from '../support/oidc-issuer';
import { startSignOnPortal } from '../support/sign-on-portal';
import { decode, heading } from './portal-client';

/**
 * Single sign-on against a real OpenID Connect issuer (oidc-provider, in a child process on loopback), through
 * the portal's own routes on real PostgreSQL: the browser is sent to the issuer, posts its login and consent
 * forms, and comes back with a code the portal exchanges.
 */
describe('portal: single sign-on with an organisation’s identity provider', () => {
  let c: RunningConsortium;
  let idp: TestIssuer;
  let portal: RunningPortal;
  let base: string;
  let schema: string;

  beforeAll(async () => {
    c = await startTestConsortium('real');
    ({ idp, portal, base, schema } = await startSignOnPortal(c, 'sso'));
  }, 120_000);

  afterAll(async () => {
    await portal?.stop();
    await idp?.stop();
    await c?.stop();
  });

  const db = () => c.projection.dataSource;

  /** Starts signing in with an organisation's account; the page is the issuer's login form. */
  async function startAt(browser: CrossSiteBrowser, organisation: string): Promise<BrowserPage> {
    const signIn = await browser.get(`${base}/sign-in`);
    const link = new RegExp(`href="(/sign-in/with/${organisation})"`).exec(signIn.html)?.[1];
    expect(link).toBeDefined();
    return browser.get(`${base}${link}`);
  }

  /** The whole round trip, up to the page the portal shows at the end. */
  async function signOnAs(
    browser: CrossSiteBrowser,
    organisation: string,
    login: string,
  ): Promise<BrowserPage> {
    const loginForm = await startAt(browser, organisation);
    expect(loginForm.url.startsWith(idp.issuer)).toBe(true);
    const consent = await browser.submitForm(loginForm, {
      login,
      password: 'not checked by the test issuer',
    });
    return browser.submitForm(consent);
  }

  /** As signOnAs, but stops at the redirect back to the portal's callback (not yet followed). */
  async function answerFor(browser: CrossSiteBrowser, organisation: string, login: string): Promise<URL> {
    browser.stopAt = (u) => u.pathname.endsWith('/callback');
    try {
      const back = await signOnAs(browser, organisation, login);
      return new URL(back.url);
    } finally {
      browser.stopAt = null;
    }
  }

  it('offers each configured organisation’s sign-in on the sign-in page, beside the password form', async () => {
    const page = await new CrossSiteBrowser().get(`${base}/sign-in`);
    const html = decode(page.html);
    expect(html).toContain('Sign in with Fresh Start’s account');
    expect(html).toContain('Sign in with NHS Lothian’s account');
    expect(html).not.toContain('Sign in with Spartans');
    expect(html).toContain('name="password"');
  });

  it('signs a steward in (code flow with PKCE, state and nonce) and opens the steward pages as them', async () => {
    const browser = new CrossSiteBrowser();
    const loginForm = await startAt(browser, 'fresh-start');
    const authorize = new URL(browser.visited.find((u) => u.startsWith(`${idp.issuer}/auth`)) as string);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(authorize.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${base}/sign-in/with/fresh-start/callback`);
    const consent = await browser.submitForm(loginForm, { login: 'ceo', password: 'x' });
    const home = await browser.submitForm(consent);

    expect(home.url).toBe(`${base}/steward`);
    expect(home.status).toBe(200);
    expect(heading(home.html)).toBe('The place');
    expect(decode(home.html)).toContain('Signed in as <strong>Aileen Steward</strong>');
    // Its sign-out form may lead on to the providers' end-session pages, and nowhere else but the portal.
    expect(home.headers.get('content-security-policy')).toContain(
      `form-action 'self' ${idp.issuer} http://127.0.0.1:1;`,
    );
    // The steward's other pages open too: each call to the services carries a token the portal signed for them.
    const issues = await browser.get(`${base}/steward/issues`);
    expect(issues.status).toBe(200);
    expect(heading(issues.html)).toBe('The issue log');

    const [user] = await db().query(
      `SELECT user_id, organisation, role, password_hash, signed_on_with FROM ${schema}.portal_users
       WHERE user_id = 'fresh-start:ceo'`,
    );
    expect(user).toEqual({
      user_id: 'fresh-start:ceo',
      organisation: 'fresh-start',
      role: 'steward',
      password_hash: null,
      signed_on_with: 'fresh-start',
    });
    // The role came from the userinfo endpoint: this provider's ID token carries no groups in the code flow.
    const [{ id_token }] = await db().query(
      `SELECT id_token FROM ${schema}.portal_sessions WHERE user_id = 'fresh-start:ceo'`,
    );
    const payload = JSON.parse(Buffer.from(id_token.split('.')[1], 'base64url').toString());
    expect(payload.sub).toBe('ceo');
    expect(payload.groups).toBeUndefined();
    // The sign-in in progress was used up.
    const [{ n }] = await db().query(`SELECT count(*)::int AS n FROM ${schema}.portal_sign_on_requests`);
    expect(n).toBe(0);
  });

  it('maps a worker’s claims to the worker role, who then cannot open a steward’s pages', async () => {
    const browser = new CrossSiteBrowser();
    const home = await signOnAs(browser, 'fresh-start', 'dsw');
    expect(home.url).toBe(`${base}/worker`);
    expect(heading(home.html)).toBe('Find a person');
    const steward = await browser.get(`${base}/steward`);
    expect(steward.status).toBe(403);
  });

  it('signs a statutory body’s officer in with a public client (PKCE, no secret) from a single-valued claim', async () => {
    const browser = new CrossSiteBrowser();
    const home = await signOnAs(browser, 'nhs-lothian', 'officer');
    expect(home.url).toBe(`${base}/statutory`);
    expect(home.status).toBe(200);
    expect(heading(home.html)).toBe('Evidence published to you');
  });

  it('refuses a person whose claims give no role with a 403 page, and opens no session', async () => {
    const browser = new CrossSiteBrowser();
    const page = await signOnAs(browser, 'fresh-start', 'finance');
    expect(page.status).toBe(403);
    expect(page.url).toMatch(/\/sign-in\/with\/fresh-start\/callback\?/);
    expect(heading(page.html)).toBe('You do not have access to this portal yet');
    expect(decode(page.html)).toContain('Ask your organisation’s administrator at Fresh Start');
    expect(browser.jar(base).has('hls-session')).toBe(false);
    const rows = await db().query(
      `SELECT 1 FROM ${schema}.portal_users WHERE user_id = 'fresh-start:finance'`,
    );
    expect(rows).toEqual([]);
    expect((await browser.get(`${base}/worker`)).url).toBe(`${base}/sign-in`);
  });

  it('follows the provider: a role changed there applies at the next sign-in, a role taken away ends the sessions', async () => {
    await idp.setClaims('dsw2', { name: 'Dee Worker', groups: ['hls-workers'] });
    const first = new CrossSiteBrowser();
    expect((await signOnAs(first, 'fresh-start', 'dsw2')).url).toBe(`${base}/worker`);

    await idp.setClaims('dsw2', { name: 'Dee Steward', groups: ['hls-stewards'] });
    const second = new CrossSiteBrowser();
    const promoted = await signOnAs(second, 'fresh-start', 'dsw2');
    expect(promoted.url).toBe(`${base}/steward`);
    expect(decode(promoted.html)).toContain('Signed in as <strong>Dee Steward</strong>');

    await idp.setClaims('dsw2', { name: 'Dee Steward', groups: ['staff'] });
    const third = new CrossSiteBrowser();
    expect((await signOnAs(third, 'fresh-start', 'dsw2')).status).toBe(403);
    // The sessions opened before (in the other browsers) end with the role.
    expect((await first.get(`${base}/worker`)).url).toBe(`${base}/sign-in`);
    expect((await second.get(`${base}/steward`)).url).toBe(`${base}/sign-in`);
  });

  it('refuses a tampered state, an answer used twice, and an answer carried to another browser (4xx, no session)', async () => {
    const browser = new CrossSiteBrowser();
    const answer = await answerFor(browser, 'fresh-start', 'ceo');
    expect(answer.searchParams.get('code')).toBeTruthy();

    const tampered = new URL(answer);
    tampered.searchParams.set('state', `${answer.searchParams.get('state')}x`);
    const refused = await browser.get(tampered.href);
    expect(refused.status).toBe(400);
    expect(heading(refused.html)).toBe('This sign-in could not be finished');
    expect(browser.jar(base).has('hls-session')).toBe(false);

    // Another browser (an attacker's, say) cannot use this browser's answer: it was not started there.
    const other = new CrossSiteBrowser();
    await other.get(`${base}/sign-in`);
    const carried = await other.get(answer.href);
    expect(carried.status).toBe(400);
    expect(other.jar(base).has('hls-session')).toBe(false);

    // The untampered answer in its own browser signs in, once.
    const home = await browser.get(answer.href);
    expect(home.url).toBe(`${base}/steward`);
    const fresh = new CrossSiteBrowser();
    fresh.jars.set(base, new Map([...browser.jar(base)].filter(([k]) => k !== 'hls-session')));
    const replay = await fresh.get(answer.href);
    expect(replay.status).toBe(400);
  });

  it('says so when the person cancels at their provider, and signs nobody in', async () => {
    const browser = new CrossSiteBrowser();
    const loginForm = await startAt(browser, 'fresh-start');
    const uid = /\/interaction\/([^/]+)/.exec(loginForm.url)?.[1];
    const page = await browser.get(`${idp.issuer}/interaction/${uid}/abort`);
    expect(page.status).toBe(401);
    expect(heading(page.html)).toBe('You were not signed in');
    expect(browser.jar(base).has('hls-session')).toBe(false);
  });

  it('answers 503 when the organisation’s provider cannot be reached', async () => {
    const browser = new CrossSiteBrowser();
    const page = await startAt(browser, 'move-on');
    expect(page.status).toBe(503);
    expect(heading(page.html)).toBe('Sorry, your organisation’s sign-in is not answering');
  });

  it('signs out of the portal and at the provider (RP-initiated logout), and the old session opens nothing', async () => {
    const browser = new CrossSiteBrowser();
    const home = await signOnAs(browser, 'fresh-start', 'ceo');
    const session = browser.jar(base).get('hls-session') as string;
    expect(session).toBeTruthy();
    const confirm = await browser.submitForm(home, {}, '/sign-out');
    // The provider asks whether to sign out there too; its end-session request named the portal's ID token.
    const endSession = new URL(
      browser.visited.find((u) => u.startsWith(`${idp.issuer}/session/end`)) as string,
    );
    expect(endSession.searchParams.get('id_token_hint')).toBeTruthy();
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${base}/signed-out`);
    const out = await browser.submitForm(confirm, { logout: 'yes' });
    expect(out.url).toBe(`${base}/signed-out`);
    expect(heading(out.html)).toBe('You have signed out');

    const again = new CrossSiteBrowser();
    again.jar(base).set('hls-session', session);
    expect((await again.get(`${base}/steward`)).url).toBe(`${base}/sign-in`);
    const gone = await db().query(`SELECT 1 FROM ${schema}.portal_sessions WHERE id_hash = $1`, [
      createHash('sha256').update(session).digest('hex'),
    ]);
    expect(gone).toEqual([]);
  });
});
