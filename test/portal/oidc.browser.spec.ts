import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { startTestConsortium } from '../harness/consortium';
import { SignOnPortal, startSignOnPortal } from '../support/sign-on-portal';
import {
  axeViolations,
  describeInBrowser,
  describeViolations,
  launchChromium,
  SCREENSHOTS,
} from './browser/browser';

/**
 * Single sign-on in headless Chromium: the portal's sign-in page, the organisation's provider (a real OpenID
 * Connect issuer on loopback), back to the portal, and signing out at both. The portal's own pages are
 * checked with axe and screenshotted (test-artifacts/screenshots/sso-*.png); the provider's pages are not ours.
 */
describeInBrowser('portal in a browser: single sign-on', () => {
  let c: RunningConsortium;
  let sso: SignOnPortal;
  let browser: Browser;

  beforeAll(async () => {
    [c, browser] = await Promise.all([startTestConsortium('real'), launchChromium()]);
    sso = await startSignOnPortal(c, 'sso_browser');
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await sso?.portal.stop();
    await sso?.idp.stop();
    await c?.stop();
  });

  async function checked(page: Page, name: string) {
    const violations = await axeViolations(page);
    expect(describeViolations(`${name} (${page.url()})`, violations)).toBe(
      describeViolations(`${name} (${page.url()})`, []),
    );
    await page.screenshot({ path: join(SCREENSHOTS, `sso-${name}.png`), fullPage: true });
  }

  async function atProvider(page: Page, login: string) {
    await page.waitForURL((u) => u.href.startsWith(sso.idp.issuer));
    await page.fill('input[name=login]', login);
    await page.fill('input[name=password]', 'any');
    await page.click('button[type=submit]');
    await page.click('button[type=submit]'); // the provider's consent page: Continue
  }

  it('a steward signs in with their organisation’s account, reaches the steward pages, and signs out at both', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${sso.base}/sign-in`);
      await checked(page, 'sign-in');
      await page.getByRole('link', { name: 'Sign in with Fresh Start’s account' }).click();
      await atProvider(page, 'ceo');
      await page.waitForURL(`${sso.base}/steward`);
      expect(await page.textContent('h1')).toBe('The place');
      expect(await page.textContent('header')).toContain('Aileen Steward');

      await page.getByRole('button', { name: 'Sign out' }).click();
      // The provider asks whether to sign out there too.
      await page.waitForURL((u) => u.href.startsWith(`${sso.idp.issuer}/session/end`));
      await page.click('button[name=logout][value=yes]');
      await page.waitForURL(`${sso.base}/signed-out`);
      expect(await page.textContent('h1')).toBe('You have signed out');
      await page.goto(`${sso.base}/steward`);
      expect(page.url()).toBe(`${sso.base}/sign-in`);
    } finally {
      await context.close();
    }
  });

  it('a person whose account has no role in the portal gets the 403 page saying whom to ask', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${sso.base}/sign-in`);
      await page.getByRole('link', { name: 'Sign in with Fresh Start’s account' }).click();
      await atProvider(page, 'finance');
      await page.waitForURL((u) => u.pathname === '/sign-in/with/fresh-start/callback');
      expect(await page.textContent('h1')).toBe('You do not have access to this portal yet');
      expect(await page.textContent('main')).toContain(
        'Ask your organisation’s administrator at Fresh Start',
      );
      await checked(page, 'no-role');
      const cookies = await context.cookies(sso.base);
      expect(cookies.map((k) => k.name)).not.toContain('hls-session');
    } finally {
      await context.close();
    }
  });
});
