/**
 * The portal in a real browser: Debian's Chromium driven by playwright-core (never a browser build of
 * Playwright's own), axe-core injected into every page visited, and a full-page screenshot of each saved
 * under test-artifacts/screenshots/.
 *
 * In CI (CI=true) a missing Chromium fails the suite; elsewhere the suite says plainly that it did not run.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(__dirname, '..', '..', '..', 'test-artifacts', 'screenshots');
/** Where the README's screenshots live; written only with HLS_README_SCREENSHOTS=1. */
export const README_SCREENSHOTS = join(__dirname, '..', '..', '..', 'docs', 'screenshots');
export const WRITE_README_SCREENSHOTS = process.env.HLS_README_SCREENSHOTS === '1';

/** WCAG 1.4.10 Reflow: content fits a screen 320 CSS pixels wide (1280 px at 400% zoom) without sideways scrolling. */
export const NARROWEST = 320;

const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/** Whether the browser suites can run here; throws in CI when Chromium is missing. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (process.env.CI === 'true') {
    throw new Error(`Chromium is not at ${CHROMIUM_PATH}: CI must have it (apt-get install chromium)`);
  }
  console.warn(
    `The portal's browser tests did NOT run: no Chromium at ${CHROMIUM_PATH}. ` +
      'Install Debian’s chromium (apt-get install chromium) or set CHROMIUM_PATH.',
  );
  return false;
}

/** `describe` when Chromium is here, `describe.skip` (said plainly above) when it is not. */
export const describeInBrowser = (name: string, fn: () => void): void =>
  chromiumAvailable() ? describe(name, fn) : describe.skip(`${name} (not run: no Chromium)`, fn);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    chromiumSandbox: false,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

let axeSource: string | undefined;
const axe = (): string => {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  return axeSource;
};

interface AxeNode {
  target: unknown[];
  html: string;
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: AxeNode[];
}

/**
 * axe-core's violations on the page as it is now, for WCAG 2.2 A/AA and axe's best practice.
 * axe is evaluated in the page rather than added as an inline <script>: the portal's Content-Security-Policy
 * (script-src 'self') rightly refuses inline scripts, and the tests keep that policy on (no bypassCSP).
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(axe());
  // A string, run in the page: the tests are compiled without the DOM's types.
  return page.evaluate(`axe.run(document, { runOnly: ${JSON.stringify(AXE_TAGS)} }).then((r) =>
    r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, failureSummary: n.failureSummary })),
    })))`);
}

/** The violations, one paragraph each, as a person fixing a template wants to read them. */
export function describeViolations(where: string, violations: AxeViolation[]): string {
  const lines = [`axe found ${violations.length} kind(s) of violation on ${where}:`];
  for (const v of violations) {
    lines.push(`\n- ${v.id} (${v.impact ?? 'no impact given'}): ${v.help}\n  ${v.helpUrl}`);
    for (const n of v.nodes.slice(0, 5)) {
      lines.push(`  at ${n.target.join(' ')}\n    ${n.html.slice(0, 300)}`);
      if (n.failureSummary) lines.push(`    ${n.failureSummary.replaceAll('\n', '\n    ')}`);
    }
    if (v.nodes.length > 5) lines.push(`  … and ${v.nodes.length - 5} more`);
  }
  return lines.join('\n');
}

/**
 * One user's browser tab, checking every page it lands on: axe finds no violations, nothing scrolls sideways
 * at 320 CSS px, and a full-page screenshot is saved as `<suite>-<NN>-<name>.png` in the order the pages were
 * seen.
 */
export class CheckedTab {
  readonly visited: {
    name: string;
    url: string;
    title: string;
    screenshotMs: number;
    axeMs: number;
    reflowMs: number;
  }[] = [];
  private constructor(
    readonly suite: string,
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly counter: { n: number },
  ) {}

  /** Removes a suite's screenshots of an earlier run, so the folder shows this run's pages only. */
  static clearScreenshots(suite: string): void {
    if (!existsSync(SCREENSHOTS)) return;
    for (const f of readdirSync(SCREENSHOTS)) if (f.startsWith(`${suite}-`)) rmSync(join(SCREENSHOTS, f));
  }

  static async open(
    browser: Browser,
    baseURL: string,
    suite: string,
    counter = { n: 0 },
  ): Promise<CheckedTab> {
    const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    return new CheckedTab(suite, context, page, counter);
  }

  /** Goes to a path and checks the page. */
  async goto(path: string, name: string): Promise<Page> {
    await this.page.goto(path);
    await this.check(name);
    return this.page;
  }

  /** Checks the page as it is now: no axe violations; no sideways scrolling at 320 CSS px; a screenshot saved. */
  async check(name: string, readme?: string): Promise<void> {
    await this.page.waitForLoadState('load');
    this.counter.n += 1;
    const file = `${this.suite}-${String(this.counter.n).padStart(2, '0')}-${name}.png`;
    mkdirSync(SCREENSHOTS, { recursive: true });
    const t0 = performance.now();
    await this.page.screenshot({ path: join(SCREENSHOTS, file), fullPage: true });
    const t1 = performance.now();
    if (readme && WRITE_README_SCREENSHOTS) {
      mkdirSync(README_SCREENSHOTS, { recursive: true });
      await this.page.screenshot({ path: join(README_SCREENSHOTS, readme), fullPage: true });
    }
    const title = await this.page.title();
    const t2 = performance.now();
    const violations = await axeViolations(this.page);
    const t3 = performance.now();
    const wide = await this.overflowAtNarrowest();
    this.visited.push({
      name,
      url: this.page.url(),
      title,
      screenshotMs: t1 - t0,
      axeMs: t3 - t2,
      reflowMs: performance.now() - t3,
    });
    if (violations.length) throw new Error(describeViolations(`${name} (${this.page.url()})`, violations));
    if (wide.length)
      throw new Error(
        `${name} (${this.page.url()}) scrolls sideways at ${NARROWEST} CSS px (WCAG 1.4.10): ${wide.join(', ')}`,
      );
  }

  /** The page as it is now, on the narrowest screen WCAG 1.4.10 asks for: what sticks out past its edge. */
  private async overflowAtNarrowest(): Promise<string[]> {
    const size = this.page.viewportSize() ?? { width: 1280, height: 900 };
    await this.page.setViewportSize({ width: NARROWEST, height: 800 });
    try {
      return await overflow(this.page);
    } finally {
      await this.page.setViewportSize(size);
    }
  }

  /** Clicks what submits or navigates, waits for the next page, and checks it. */
  async clickAndCheck(selector: string, name: string): Promise<Page> {
    await Promise.all([this.page.waitForNavigation(), this.page.click(selector)]);
    await this.check(name);
    return this.page;
  }

  /** Signs in through the sign-in page, checking it and the page after it. */
  async signIn(userId: string, password: string): Promise<Page> {
    await this.goto('/sign-in', `sign-in-${userId}`);
    await this.page.fill('#user-id', userId);
    await this.page.fill('#password', password);
    return this.clickAndCheck('main button[type=submit]', `signed-in-${userId}`);
  }

  /** Ticks a design-system checkbox or radio by its label, as a person does (the label sits over the input). */
  async choose(name: string, value: string): Promise<void> {
    const id = await this.page.getAttribute(`input[name="${name}"][value="${value}"]`, 'id');
    await this.page.click(`label[for="${id}"]`);
  }

  /** Reloads until the page shows what the projection is still catching up with (for up to 30 seconds). */
  async reloadUntil(text: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if ((await this.page.textContent('main'))?.includes(text)) return;
      await new Promise((r) => setTimeout(r, 200));
      await this.page.reload();
    }
    throw new Error(`${this.page.url()} never showed "${text}"`);
  }

  async signOut(): Promise<Page> {
    return this.clickAndCheck('header button:has-text("Sign out")', `signed-out-${this.suite}`);
  }

  close(): Promise<void> {
    return this.context.close();
  }
}

/**
 * What sticks out past the right edge of the viewport (WCAG 1.4.10 Reflow: nothing should at 320 CSS px), as
 * "tag.class right-edge" for the first few innermost such elements, or [] when the page fits.
 */
export function overflow(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    return [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > width + 1)
      // The innermost: what pushes the page wide, not every box around it.
      .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > width + 1))
      .slice(0, 3)
      .map((e) => e.tagName.toLowerCase() + '.' + [...e.classList].join('.') + ' to ' + Math.round(e.getBoundingClientRect().right) + 'px');
  })()`);
}

/**
 * Walks the page with the Tab key alone (WCAG 2.1.1 Keyboard, 2.4.7 Focus Visible): what can be used but is never
 * reached by Tab, and what is reached without a visible focus indicator (an outline, a box shadow, or the design
 * system's yellow focus background). [] when every control is reached and each shows its focus.
 */
export async function keyboardProblems(page: Page): Promise<string[]> {
  await page.evaluate(`document.activeElement?.blur(); window.scrollTo(0, 0)`);
  const problems = new Set<string>();
  for (let i = 0; i < 200; i++) {
    await page.keyboard.press('Tab');
    const step: { done: boolean; problem: string | null } = await page.evaluate(`(() => {
      const el = document.activeElement;
      if (!el || el === document.body || el.hasAttribute('data-kb-first')) return { done: true, problem: null };
      // A date and time field takes several Tabs (day, month, year, time) within the one element.
      if (el.hasAttribute('data-kb')) return { done: false, problem: null };
      if (!document.querySelector('[data-kb]')) el.setAttribute('data-kb-first', '');
      el.setAttribute('data-kb', '');
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + (el.textContent || el.getAttribute('value') || '').trim().slice(0, 30) + '"';
      const s = getComputedStyle(el);
      const shown = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'
        || s.backgroundColor === 'rgb(253, 213, 34)';
      return { done: false, problem: shown ? null : 'no visible focus on ' + name };
    })()`);
    if (step.done) break;
    if (step.problem) problems.add(step.problem);
  }
  const missed: string[] = await page.evaluate(`(() => {
    const radioGroups = new Set();
    return [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, [tabindex="0"]')]
      .filter((el) => el.getClientRects().length > 0 && !el.disabled)
      .filter((el) => {
        // One stop per group of radios, as browsers tab them.
        if (el.type !== 'radio') return true;
        if (radioGroups.has(el.name)) return false;
        radioGroups.add(el.name);
        return !document.querySelector('input[type=radio][name="' + el.name + '"][data-kb]');
      })
      .filter((el) => !el.hasAttribute('data-kb'))
      .map((el) => 'never reached by Tab: ' + el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + (el.textContent || '').trim().slice(0, 30) + '"');
  })()`);
  await page.evaluate(
    `document.querySelectorAll('[data-kb]').forEach((el) => el.removeAttribute('data-kb'))`,
  );
  return [...problems, ...missed];
}

/** One line: how many pages were checked, and what the checks cost (printed after a suite). */
export function checkSummary(suite: string, tabs: CheckedTab[]): string {
  const pages = tabs.flatMap((t) => t.visited);
  const sum = (f: (p: (typeof pages)[number]) => number) => Math.round(pages.reduce((a, p) => a + f(p), 0));
  return (
    `${suite}: ${pages.length} pages checked, axe-clean and fitting ${NARROWEST} px, screenshots in ${SCREENSHOTS}; ` +
    `axe ${sum((p) => p.axeMs)} ms, reflow ${sum((p) => p.reflowMs)} ms, screenshots ${sum((p) => p.screenshotMs)} ms in all`
  );
}
