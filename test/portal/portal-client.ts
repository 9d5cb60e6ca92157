import { eventually } from '../harness/index';

/**
 * A user at the portal over HTTP, as a browser without JavaScript is: a cookie jar, forms posted as
 * application/x-www-form-urlencoded with the CSRF token the page carried, redirects followed by hand.
 */
export interface Page {
  status: number;
  url: string;
  html: string;
  headers: Headers;
}

export class PortalClient {
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie header received, whole (with its attributes). */
  readonly setCookies: string[] = [];

  constructor(readonly base: string) {}

  async get(path: string): Promise<Page> {
    return this.follow(await this.request('GET', path));
  }

  /** Posts a form as the page at `from` would, with its CSRF token (unless the test gives its own). */
  async submit(path: string, fields: Record<string, string | string[]>, csrf?: string): Promise<Page> {
    const token = csrf ?? this.lastCsrf;
    const body = new URLSearchParams();
    if (token !== undefined) body.append('_csrf', token);
    for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) body.append(k, x);
    return this.follow(await this.request('POST', path, body));
  }

  async signIn(userId: string, password: string): Promise<Page> {
    await this.get('/sign-in');
    return this.submit('/sign-in', { userId, password });
  }

  /** The CSRF token of the last page loaded. */
  lastCsrf: string | undefined;

  private async request(method: string, path: string, body?: URLSearchParams): Promise<Response> {
    const res = await fetch(new URL(path, this.base), {
      method,
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body,
    });
    for (const c of res.headers.getSetCookie()) {
      this.setCookies.push(c);
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const [name, value] = [pair.slice(0, i), pair.slice(i + 1)];
      if (!value || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  private async follow(res: Response): Promise<Page> {
    let r = res;
    for (let hops = 0; r.status >= 300 && r.status < 400 && hops < 5; hops++) {
      const to = new URL(r.headers.get('location') as string, this.base);
      r = await this.request('GET', to.pathname + to.search);
    }
    const html = await r.text();
    this.lastCsrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? this.lastCsrf;
    return { status: r.status, url: r.url, html, headers: r.headers };
  }
}

/** The text of the page's error summary items, or [] if it has none. */
export function errorSummary(html: string): string[] {
  const summary = /<div class="ds_error-summary"[\s\S]*?<\/ul>/.exec(html)?.[0] ?? '';
  return [...summary.matchAll(/<li>(?:<a href="[^"]*">)?([^<]*)/g)].map((m) => decode(m[1]).trim());
}

export function decode(s: string): string {
  return s
    .replaceAll('&#39;', "'")
    .replaceAll('&quot;', '"')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

/** The page's <h1>. */
export function heading(html: string): string {
  return decode(/<h1[^>]*>([\s\S]*?)<\/h1>/.exec(html)?.[1]?.trim() ?? '');
}

/** A browser signed in as one of the demo users. */
export async function signedInAs(base: string, userId: string, password: string): Promise<PortalClient> {
  const browser = new PortalClient(base);
  await browser.signIn(userId, password);
  return browser;
}

/** Loads a page until it shows what the projection is still catching up with. */
export function pageShowing(browser: PortalClient, path: string, text: string): Promise<Page> {
  return eventually(async () => {
    const page = await browser.get(path);
    return decode(page.html).includes(text) ? page : undefined;
  }, `${path} to show "${text}"`);
}
