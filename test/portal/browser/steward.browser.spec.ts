import { readFileSync } from 'node:fs';
import { Browser } from 'playwright-core';
import { RunningConsortium } from '../../../apps/consortium/src/consortium-runner';
import { settled, startTestConsortium } from '../../harness/consortium';
import { seedPlace } from '../place-seed';
import { CheckedTab, checkSummary, describeInBrowser, launchChromium } from './browser';

const PASSWORD = 'a demo password for the browser tests';
const OTHER_PARTNERS = ['move-on', 'north-edinburgh-arts', 'spartans'];

/**
 * The stewards' and the statutory reader's main journey in headless Chromium: every page axe-clean and
 * screenshotted (test-artifacts/screenshots/steward-*.png).
 */
describeInBrowser('portal in a browser: the stewards’ and the statutory body’s journey', () => {
  let c: RunningConsortium;
  let browser: Browser;
  let packPath: string;
  let issuePath: string;
  let cyclePath: string;
  const counter = { n: 0 };
  const tabs: CheckedTab[] = [];
  const tab = async (): Promise<CheckedTab> => {
    const t = await CheckedTab.open(browser, c.portal.url, 'steward', counter);
    tabs.push(t);
    return t;
  };
  const today = new Date().toISOString().slice(0, 10);
  const yearAgo = new Date(Date.now() - 364 * 86400_000).toISOString().slice(0, 10);

  beforeAll(async () => {
    CheckedTab.clearScreenshots('steward');
    [c, browser] = await Promise.all([
      startTestConsortium('real', {}, { portal: { demoPassword: PASSWORD } }),
      launchChromium(),
    ]);
    // Some work at Fresh Start for the place to show: people with contacts, support and themes; one referred on.
    await seedPlace(c);
    await settled(c);
  }, 120_000);
  afterAll(async () => {
    if (tabs.length) process.stderr.write(`${checkSummary('steward', tabs)}\n`);
    for (const t of tabs) await t.close().catch(() => undefined);
    await browser?.close();
    await c?.stop();
  });

  const main = (t: CheckedTab) => t.page.textContent('main') as Promise<string>;

  it('shows a steward the place, raises an issue, escalates it to government and composes a pack', async () => {
    const fs = await tab();
    await fs.signIn('fresh-start-steward', PASSWORD);
    expect(fs.page.url()).toMatch(/\/steward$/);
    await fs.page.goto(`/steward?from=${yearAgo}&to=${today}`);
    await fs.reloadUntil('Referral flows in numbers');
    expect(await fs.page.locator('main svg[role=img]').count()).toBeGreaterThanOrEqual(3);
    await fs.check('place', 'steward-place.png');

    await fs.goto('/steward/learning', 'learning-cycles');
    await fs.goto('/steward/issues/new', 'raise-issue-form');
    await fs.page.fill('#description', 'Crisis grants take three weeks to pay');
    await fs.choose('level', '2');
    await fs.choose('owner', 'leadership');
    await fs.page.selectOption('#raised-from-kind', 'journey-pattern');
    await fs.page.fill('#raised-from-ref', 'grant-delays');
    await fs.clickAndCheck('main form button[type=submit]', 'issue-raised');
    expect(await main(fs)).toContain('The issue is in the log.');
    await fs.reloadUntil('Crisis grants take three weeks to pay');
    await fs.check('issue-log');

    await fs.clickAndCheck('main a:has-text("Crisis grants take three weeks to pay")', 'issue');
    // Without a reason first: the error summary and the inline error must be accessible too.
    await fs.choose('level', '3');
    await fs.choose('owner', 'government');
    await fs.clickAndCheck('button:has-text("Escalate the issue")', 'escalation-errors');
    expect(await fs.page.isVisible('.ds_error-summary')).toBe(true);
    expect(await fs.page.isChecked('input[name=owner][value=government]')).toBe(true);
    await fs.page.fill('#escalate-reason', 'Only the government can change the grant rules');
    await fs.clickAndCheck('button:has-text("Escalate the issue")', 'issue-escalated');
    expect(await main(fs)).toContain('The issue is escalated.');
    await fs.reloadUntil('Only the government can change the grant rules');
    issuePath = new URL(fs.page.url()).pathname;

    await fs.goto('/steward/packs/new', 'compose-form');
    await fs.page.selectOption('#body', 'cec');
    await fs.page.fill('#from', yearAgo);
    await fs.page.fill('#to', today);
    await fs.clickAndCheck('main form button[type=submit]', 'pack-composed');
    expect(await main(fs)).toContain('The pack is composed.');
    packPath = new URL(fs.page.url()).pathname;
    expect(packPath).toMatch(/^\/steward\/packs\/[0-9a-f-]{36}$/);
    expect(await main(fs)).toContain('3 more needed');
    expect(await fs.page.isVisible('button:has-text("Publish the pack")')).toBe(false);
  });

  it('records a statutory body’s answer, closes and reopens the issue, and takes a learning cycle on', async () => {
    const fs = await tab();
    await fs.signIn('fresh-start-steward', PASSWORD);
    await fs.goto(issuePath, 'issue-to-ask');
    await fs.page.selectOption('#ask-body', 'cec');
    await fs.page.fill('#ask', 'Pay crisis grants within two days');
    await fs.clickAndCheck('button:has-text("Send the ask")', 'ask-sent');
    await fs.reloadUntil('Record a statutory body’s answer');
    await fs.check('issue-with-ask');
    await fs.clickAndCheck('button:has-text("Record their answer")', 'answer-errors');
    expect(await fs.page.isVisible('.ds_error-summary')).toBe(true);
    await fs.page.click('label[for="answered-ask-1"]');
    await fs.choose('outcome', 'agreed');
    await fs.page.fill('#ask-response', 'From April, within two days');
    await fs.clickAndCheck('button:has-text("Record their answer")', 'answer-recorded');
    expect(await main(fs)).toContain('Their answer is recorded.');

    await fs.page.fill('#what-changed', 'Grants pay in two days');
    await fs.clickAndCheck('button:has-text("Close the issue")', 'issue-closed');
    await fs.reloadUntil('Reopen the issue');
    await fs.clickAndCheck('button:has-text("Reopen the issue")', 'reopen-errors');
    expect(await fs.page.isVisible('.ds_error-summary')).toBe(true);
    await fs.page.fill('#reopen-reason', 'Payments slipped again in the summer');
    await fs.clickAndCheck('button:has-text("Reopen the issue")', 'issue-reopened');
    expect(await main(fs)).toContain('The issue is open again.');

    await fs.goto('/steward/learning', 'learning-before-convening');
    await fs.clickAndCheck('a:has-text("Convene a learning cycle")', 'convene-form');
    await fs.clickAndCheck('main form button[type=submit]', 'convene-errors');
    expect(await fs.page.isVisible('.ds_error-summary')).toBe(true);
    await fs.page.fill('#title', 'Evening phone line');
    await fs.choose('scale', 'organisation');
    await fs.page.fill('#purpose', 'Nobody in crisis waits till morning');
    await fs.clickAndCheck('main form button[type=submit]', 'cycle-convened');
    expect(await main(fs)).toContain('The learning cycle is convened.');
    await fs.reloadUntil('Nobody in crisis waits till morning');
    await fs.clickAndCheck('a:has-text("Understand the system")', 'stage-form');
    await fs.clickAndCheck('main form button[type=submit]', 'stage-errors');
    expect(await fs.page.isVisible('.ds_error-summary')).toBe(true);
    await fs.page.fill('#actors', 'Night staff\nCallers');
    await fs.page.fill('#factors', 'Staff rotas');
    await fs.clickAndCheck('main form button[type=submit]', 'stage-recorded');
    expect(await main(fs)).toContain('The understanding of the system is recorded.');
    await fs.clickAndCheck('a:has-text("Link to another cycle")', 'link-form');
    cyclePath = new URL(fs.page.url()).pathname.replace(/\/links$/, '');
    await fs.signOut();
  }, 120_000);

  it('keeps every other steward page accessible: each stage of a cycle, a filtered log, a bad period, the 404', async () => {
    const fs = await tab();
    await fs.signIn('fresh-start-steward', PASSWORD);
    for (const stage of [
      'purpose',
      'experiments',
      'experiment-start',
      'experiment-learning',
      'experiment-conclusion',
      'embedding',
      'influencing',
      'management',
      'governance',
      'closure',
    ])
      await fs.goto(`${cyclePath}/${stage}`, `stage-${stage}`);
    await fs.goto('/steward/issues?level=3&owner=government&status=open', 'issue-log-filtered');
    await fs.goto('/steward?from=someday&to=', 'place-period-errors');
    expect(await fs.page.isVisible('.ds_error-summary')).toBe(true);
    const missing = await fs.page.goto('/steward/no-such-page');
    expect(missing?.status()).toBe(404);
    await fs.check('not-found-404');
    await fs.signOut();
  }, 120_000);

  it('has every other partner’s steward approve the pack, then the composer publishes it', async () => {
    for (const partner of OTHER_PARTNERS) {
      const steward = await tab();
      await steward.signIn(`${partner}-steward`, PASSWORD);
      await steward.goto(packPath, `pack-for-${partner}`);
      await steward.clickAndCheck('button:has-text("Approve for")', `approved-by-${partner}`);
      expect(await main(steward)).toContain('You approved the pack.');
      await steward.signOut();
    }
    const fs = await tab();
    await fs.signIn('fresh-start-steward', PASSWORD);
    await fs.goto(packPath, 'pack-approved');
    await fs.clickAndCheck('button:has-text("Publish the pack")', 'pack-published');
    expect(await main(fs)).toContain('The pack is published');
    await fs.goto('/steward/packs', 'packs');
    await fs.signOut();
  }, 120_000);

  it('lets the statutory reader download the PDF and see that the pack is intact', async () => {
    const cec = await tab();
    await cec.signIn('cec-reader', PASSWORD);
    expect(cec.page.url()).toMatch(/\/statutory$/);
    const packId = packPath.split('/').pop() as string;
    // The pack reaches the body's list once the projection has it.
    for (let i = 0; i < 50 && !(await cec.page.isVisible(`main a[href="/statutory/packs/${packId}"]`)); i++) {
      await new Promise((r) => setTimeout(r, 200));
      await cec.page.reload();
    }
    await cec.check('published-to-you');
    await cec.clickAndCheck(`main a[href="/statutory/packs/${packId}"]`, 'pack-verified');
    expect(await cec.page.textContent('.ds_notification-panel__title')).toBe('Intact');

    const [download] = await Promise.all([
      cec.page.waitForEvent('download'),
      cec.page.click('a:has-text("Download the pack as PDF")'),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.pdf$/);
    const pdf = readFileSync(await download.path());
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');

    await cec.goto('/statutory/feed', 'feed');
    await cec.signOut();
  }, 60_000);
});
