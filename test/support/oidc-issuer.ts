import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface TestIssuer {
  issuer: string;
  /** Gives an account new claims at the issuer (its next sign-in carries them). */
  setClaims(account: string, claims: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export interface IssuerConfig {
  /** oidc-provider client metadata (client_id, client_secret, redirect_uris, …). */
  clients: Record<string, unknown>[];
  /** Account id (what is typed as the login) -> its claims. */
  accounts: Record<string, Record<string, unknown>>;
}

/** Starts oidc-provider (an ES module) in a child process on loopback, and waits for its address. */
export async function startTestIssuer(config: IssuerConfig): Promise<TestIssuer> {
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, 'oidc-issuer-process.mjs')], {
    env: { ...process.env, OIDC_ISSUER_CONFIG: JSON.stringify(config) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let errors = '';
  child.stderr?.on('data', (d) => {
    errors += d;
  });
  const issuer = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the test issuer did not start: ${errors}`)), 20_000);
    child.stdout?.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line).issuer);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the test issuer exited (${code}): ${errors}`));
    });
  });
  return {
    issuer,
    setClaims: (account, claims) =>
      new Promise<void>((resolve) => {
        const listener = (d: Buffer) => {
          if (d.toString().includes(JSON.stringify({ updated: account }))) {
            child.stdout?.off('data', listener);
            resolve();
          }
        };
        child.stdout?.on('data', listener);
        child.stdin?.write(`${JSON.stringify({ account, claims })}\n`);
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A port free on loopback now (for a server whose address another must know before it starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface BrowserPage {
  status: number;
  url: string;
  html: string;
  headers: Headers;
}

/**
 * A browser without JavaScript across several sites: a cookie jar per origin (paths ignored), redirects
 * followed across origins, forms posted with their hidden fields.
 */
export class CrossSiteBrowser {
  readonly jars = new Map<string, Map<string, string>>();
  /** Every URL a request was made to, in order (to see where redirects went). */
  readonly visited: string[] = [];
  /** Stops following redirects at the first URL this returns true for (the page is then the redirect). */
  stopAt: ((url: URL) => boolean) | null = null;

  jar(origin: string): Map<string, string> {
    let jar = this.jars.get(origin);
    if (!jar) {
      jar = new Map();
      this.jars.set(origin, jar);
    }
    return jar;
  }

  get(url: string): Promise<BrowserPage> {
    return this.go('GET', url);
  }

  post(url: string, fields: Record<string, string>): Promise<BrowserPage> {
    return this.go('POST', url, new URLSearchParams(fields));
  }

  /** Posts the page's first form (or the one whose action contains `actionPart`) with its hidden fields. */
  submitForm(page: BrowserPage, fields: Record<string, string> = {}, actionPart = ''): Promise<BrowserPage> {
    const forms = [...page.html.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
    const form = forms.find((f) => f[1].includes(actionPart));
    if (!form)
      throw new Error(`no form${actionPart ? ` for ${actionPart}` : ''} on ${page.url}:\n${page.html}`);
    const hidden: Record<string, string> = {};
    for (const m of form[2].matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]*)"/.exec(m[0])?.[1];
      const value = /value="([^"]*)"/.exec(m[0])?.[1] ?? '';
      if (name) hidden[name] = value.replaceAll('&amp;', '&');
    }
    return this.post(new URL(form[1].replaceAll('&amp;', '&'), page.url).href, { ...hidden, ...fields });
  }

  private async go(method: string, url: string, body?: URLSearchParams): Promise<BrowserPage> {
    let res = await this.request(method, new URL(url), body);
    for (let hops = 0; res.status >= 300 && res.status < 400 && hops < 10; hops++) {
      const to = new URL(res.headers.get('location') as string, res.url);
      if (this.stopAt?.(to)) return { status: res.status, url: to.href, html: '', headers: res.headers };
      res = await this.request('GET', to);
    }
    return { status: res.status, url: res.url, html: await res.text(), headers: res.headers };
  }

  private async request(method: string, url: URL, body?: URLSearchParams): Promise<Response> {
    this.visited.push(url.href);
    const jar = this.jar(url.origin);
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body,
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const [name, value] = [pair.slice(0, i), pair.slice(i + 1)];
      if (!value || /expires=Thu, 01 Jan 1970/i.test(c)) jar.delete(name);
      else jar.set(name, value);
    }
    Object.defineProperty(res, 'url', { value: url.href });
    return res;
  }
}
