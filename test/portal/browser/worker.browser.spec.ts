import { Browser } from 'playwright-core';
import { RunningConsortium } from '../../../apps/consortium/src/consortium-runner';
import { startTestConsortium } from '../../harness/consortium';
import {
  axeViolations,
  CheckedTab,
  checkSummary,
  describeInBrowser,
  describeViolations,
  keyboardProblems,
  launchChromium,
  overflow,
} from './browser';

const PASSWORD = 'a demo password for the browser tests';

/**
 * The workers' main journey in headless Chromium: every page axe-clean and screenshotted
 * (test-artifacts/screenshots/worker-*.png).
 */
describeInBrowser('portal in a browser: the workers’ journey', () => {
  let c: RunningConsortium;
  let browser: Browser;
  let personRef: string;
  const counter = { n: 0 };
  const tabs: CheckedTab[] = [];
  const tab = async (): Promise<CheckedTab> => {
    const t = await CheckedTab.open(browser, c.portal.url, 'worker', counter);
    tabs.push(t);
    return t;
  };

  beforeAll(async () => {
    CheckedTab.clearScreenshots('worker');
    [c, browser] = await Promise.all([
      startTestConsortium('real', {}, { portal: { demoPassword: PASSWORD } }),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    if (tabs.length) process.stderr.write(`${checkSummary('worker', tabs)}\n`);
    for (const t of tabs) await t.close().catch(() => undefined);
    await browser?.close();
    await c?.stop();
  });

  /** Counts the pages the tab loads from now on (a POST answered by a redirect is one). */
  const pageLoads = (t: CheckedTab) => {
    const counter = { count: 0, stop: () => t.page.off('load', onLoad) };
    const onLoad = () => {
      counter.count += 1;
    };
    t.page.on('load', onLoad);
    return counter;
  };

  it('has an accessibility check that does find violations (so its silence on the portal means something)', async () => {
    const page = await browser.newPage();
    await page.setContent('<html><body><img src="x.png"><input type="text"></body></html>');
    const violations = await axeViolations(page);
    await page.close();
    expect(describeViolations('a bad page', violations)).toMatch(
      /image-alt \(critical\): Images must have alternative text/,
    );
    expect(violations.map((v) => v.id)).toEqual(
      expect.arrayContaining(['html-has-lang', 'image-alt', 'label']),
    );
  });

  it('lets a Fresh Start worker register a person with consent and refer them to Spartans', async () => {
    const fs = await tab();
    await fs.signIn('fresh-start-worker', PASSWORD);
    expect(await fs.page.textContent('h1')).toBe('Find a person');

    await fs.page.fill('#name', 'Ailsa Brown');
    await fs.page.fill('#date-of-birth', '14/02/1988');
    await fs.clickAndCheck('main form button[type=submit]', 'lookup-nobody');
    expect(await fs.page.textContent('h1')).toBe('No journey was found');

    await fs.goto('/worker/people/new', 'register-form');
    // Submitted empty first: the error summary and inline errors must be accessible too.
    await fs.clickAndCheck('main form button[type=submit]', 'register-errors');
    expect(await fs.page.isVisible('.ds_error-summary')).toBe(true);

    await fs.page.fill('#name', 'Ailsa Brown');
    await fs.page.fill('#date-of-birth', '14/02/1988');
    await fs.page.fill('#phone', '0131 555 0100');
    await fs.page.fill('#what-matters', 'Keeping my flat and seeing my kids');
    await fs.choose('partners', 'fresh-start');
    await fs.choose('partners', 'spartans');
    await fs.choose('purposes', 'support');
    await fs.choose('purposes', 'referral');
    expect(await fs.page.isChecked('input[name=partners][value=spartans]')).toBe(true);
    await fs.clickAndCheck('main form button[type=submit]', 'registered');
    personRef = /\/worker\/people\/([A-Z]{2,4}-[0-9A-Z]{10})$/.exec(fs.page.url())?.[1] as string;
    expect(personRef).toBeDefined();
    await fs.reloadUntil('Keeping my flat and seeing my kids');
    await fs.check('journey');

    await fs.clickAndCheck('a:has-text("Record a contact")', 'contact-form');
    await fs.choose('kind', 'visit');
    await fs.page.fill('#duration', '45');
    await fs.page.fill('#notes', 'Talked about the rent arrears');
    await fs.clickAndCheck('main form button[type=submit]', 'contact-recorded');
    expect(await fs.page.textContent('main')).toContain('The contact is recorded.');

    await fs.clickAndCheck('a:has-text("Make a referral")', 'referral-form');
    await fs.page.selectOption('#to-organisation', 'spartans');
    await fs.page.fill('#reason', 'Football on Tuesdays would help her get out');
    await fs.clickAndCheck('main form button[type=submit]', 'referral-sent');
    expect(await fs.page.textContent('main')).toContain('The referral is sent.');
    await fs.signOut();
    expect(await fs.page.textContent('h1')).toBe('You have signed out');
  });

  it('lets a Spartans worker accept from the inbox and record a contact', async () => {
    const sp = await tab();
    await sp.signIn('spartans-worker', PASSWORD);
    await sp.goto('/worker/referrals', 'inbox');
    await sp.reloadUntil('Ailsa Brown');
    await sp.check('inbox-with-referral');
    expect(await sp.page.textContent('main')).toContain('Football on Tuesdays would help her get out');
    // Answering a referral from the inbox is one page load: the inbox again, saying so.
    const accepting = pageLoads(sp);
    await sp.clickAndCheck('main form button:has-text("Accept")', 'accepted');
    expect(await sp.page.textContent('main')).toContain('You accepted the referral.');
    expect(accepting.count).toBe(1);
    accepting.stop();

    await sp.goto(`/worker/people/${personRef}`, 'journey-at-spartans');
    // Spartans holds her record once the projection has the acceptance.
    await sp.reloadUntil('Record a contact');
    // A contact, recorded many times a day, takes two page loads from the journey: the form, then the journey.
    const loads = pageLoads(sp);
    await sp.clickAndCheck('a:has-text("Record a contact")', 'contact-form-spartans');
    await sp.choose('kind', 'drop-in');
    await sp.page.fill('#duration', '20');
    await sp.page.fill('#notes', 'Came to the Tuesday session and stayed for tea');
    await sp.clickAndCheck('main form button[type=submit]', 'contact-recorded-spartans');
    expect(await sp.page.textContent('main')).toContain('The contact is recorded.');
    expect(loads.count).toBe(2);
    loads.stop();
    // The whole journey across partners, within her consent: Fresh Start's contact is there too.
    await sp.reloadUntil('Came to the Tuesday session');
    await sp.reloadUntil('Talked about the rent arrears');
    await sp.check('journey-across-partners', 'worker-journey.png');
    await sp.signOut();
  });

  it('keeps every other worker page accessible: records, consent, reads, the referral lists and the 404', async () => {
    const fs = await tab();
    await fs.signIn('fresh-start-worker', PASSWORD);
    const journey = `/worker/people/${personRef}`;
    for (const record of ['support', 'reflections', 'outcomes'])
      await fs.goto(`${journey}/records/${record}`, `record-${record}`);
    await fs.clickAndCheck('main form button[type=submit]', 'outcome-errors');
    expect(await fs.page.isVisible('.ds_error-summary')).toBe(true);
    await fs.goto(`${journey}/what-matters`, 'what-matters');
    await fs.goto(`${journey}/consents`, 'consents');
    await fs.goto(`${journey}/reads`, 'reads');
    await fs.goto('/worker/referrals?sent=true', 'referrals-sent');
    await fs.reloadUntil('Football on Tuesdays');
    await fs.clickAndCheck('a:has-text("Other answers")', 'referral');
    await fs.goto('/worker/referrals?mine=true', 'referrals-mine');
    // The same person walking in at another door: the lookup finds the journey, and asks for consent here.
    await fs.signOut();
    const nea = await tab();
    await nea.signIn('north-edinburgh-arts-worker', PASSWORD);
    await nea.page.fill('#name', 'Ailsa Brown');
    await nea.page.fill('#date-of-birth', '14/02/1988');
    await nea.clickAndCheck('main form button[type=submit]', 'lookup-found');
    expect(await nea.page.textContent('h1')).toBe('A journey was found');
    const missing = await nea.page.goto('/worker/no-such-page');
    expect(missing?.status()).toBe(404);
    await nea.check('not-found-404');
    await nea.signOut();
  }, 120_000);

  it('refuses a North Edinburgh Arts worker with the 403 page', async () => {
    const nea = await tab();
    await nea.signIn('north-edinburgh-arts-worker', PASSWORD);
    const response = await nea.page.goto(`/worker/people/${personRef}`);
    expect(response?.status()).toBe(403);
    await nea.check('refused-403');
    expect(await nea.page.textContent('h1')).toBe('You cannot see this page');
    expect(await nea.page.textContent('main')).toContain('has not consented to share their journey');
    expect(await nea.page.textContent('main')).not.toContain('Keeping my flat');
    await nea.signOut();
  });

  it('can be signed in to by keyboard alone, starting from the skip link', async () => {
    const kb = await tab();
    await kb.goto('/sign-in', 'keyboard-sign-in');
    // Run in the page as strings: the tests are compiled without the DOM's types.
    const focused = (): Promise<{ id: string; text: string; tag: string }> =>
      kb.page.evaluate(
        `(() => { const el = document.activeElement;
          return { id: el?.id ?? '', text: el?.textContent?.trim() ?? '', tag: el?.tagName ?? '' }; })()`,
      );
    await kb.page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ tag: 'A', text: 'Skip to main content' });
    expect(await kb.page.isVisible('a.ds_skip-links__link')).toBe(true);
    await kb.page.keyboard.press('Enter');
    // The browser follows the link to #main-content, or the design system's script moves focus there itself.
    await kb.page.waitForFunction(`document.activeElement?.id === 'main-content'`);

    await kb.page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ id: 'user-id' });
    await kb.page.keyboard.type('spartans-worker');
    await kb.page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ id: 'password' });
    await kb.page.keyboard.type(PASSWORD);
    await kb.page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ tag: 'BUTTON', text: 'Sign in' });
    await Promise.all([kb.page.waitForNavigation(), kb.page.keyboard.press('Enter')]);
    await kb.check('keyboard-signed-in');
    expect(await kb.page.textContent('header')).toContain('Signed in as');
  });

  // WCAG 1.4.10 Reflow: no sideways scrolling at 320 or 1280 CSS px. Every page a suite checks is also measured
  // at 320 px (CheckedTab.check); this walks the worker's main pages at both widths in fresh tabs, the journey
  // of a person with an open referral among them (its table once widened the whole page).
  it('reaches every control of the worker’s main pages by Tab, each showing where the focus is', async () => {
    const kb = await tab();
    await kb.signIn('spartans-worker', PASSWORD);
    const found: string[] = [];
    for (const path of [
      '/worker',
      '/worker/people/new',
      '/worker/referrals',
      `/worker/people/${personRef}`,
      `/worker/people/${personRef}/records/contacts`,
      `/worker/people/${personRef}/consents`,
    ]) {
      await kb.page.goto(path);
      for (const p of await keyboardProblems(kb.page)) found.push(`${path}: ${p}`);
    }
    expect(found).toEqual([]);
  });

  it('records a contact by keyboard alone', async () => {
    const kb = await tab();
    await kb.signIn('spartans-worker', PASSWORD);
    await kb.page.goto(`/worker/people/${personRef}`);
    const focused = (): Promise<string> =>
      kb.page.evaluate(`(document.activeElement?.id || document.activeElement?.textContent || '').trim()`);
    const tabTo = async (what: string) => {
      for (let i = 0; i < 60 && (await focused()) !== what; i++) await kb.page.keyboard.press('Tab');
      expect(await focused()).toBe(what);
    };
    await tabTo('Record a contact');
    await Promise.all([kb.page.waitForNavigation(), kb.page.keyboard.press('Enter')]);
    await tabTo('kind-1');
    // Arrow keys move through a group of radios and choose as they go.
    await kb.page.keyboard.press('ArrowDown');
    await kb.page.keyboard.press('ArrowUp');
    await tabTo('duration');
    await kb.page.keyboard.type('15');
    await tabTo('notes');
    await kb.page.keyboard.type('Phoned about Tuesday');
    await tabTo('Save');
    await Promise.all([kb.page.waitForNavigation(), kb.page.keyboard.press('Enter')]);
    await kb.check('keyboard-contact-recorded');
    expect(await kb.page.textContent('main')).toContain('The contact is recorded.');
  });

  it('fits the page to the screen, from 320 to 1280 CSS pixels wide, with no sideways scrolling', async () => {
    const found: string[] = [];
    for (const width of [320, 1280]) {
      const context = await browser.newContext({ baseURL: c.portal.url, viewport: { width, height: 800 } });
      const page = await context.newPage();
      await page.goto('/sign-in');
      await page.fill('#user-id', 'spartans-worker');
      await page.fill('#password', PASSWORD);
      await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
      for (const path of ['/worker', '/worker/referrals', `/worker/people/${personRef}`, '/sign-in']) {
        await page.goto(path);
        const out = await overflow(page);
        if (out.length) found.push(`${path} at ${width} px: ${out.join(', ')}`);
      }
      await context.close();
    }
    expect(found).toEqual([]);
  });

  it('has a reflow check that does find a page too wide for a 320 px screen', async () => {
    const page = await browser.newPage({ viewport: { width: 320, height: 600 } });
    await page.setContent(
      '<html><body><p>fits</p><p class="wide" style="width: 500px">too wide</p></body></html>',
    );
    expect(await overflow(page)).toEqual(['p.wide to 508px']);
    await page.close();
  });
});
