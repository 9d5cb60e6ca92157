import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { Response } from 'express';
import nunjucks from 'nunjucks';
import { FormErrors } from './forms';
import { PortalRequest } from './http-context';
import { ROLE_PAGES } from './navigation';
import { organisationName, PORTAL_RUNTIME, PortalRuntime } from './portal-runtime';

/**
 * The portal's source folder, which holds the templates (each capability's under `<capability>/templates/`)
 * and `static/`: beside this file under ts-node and jest; for the compiled app (which tsc leaves without
 * them), the sources' folder from the working directory.
 */
export function portalSourceDir(): string {
  const found = [join(__dirname, '..'), join(process.cwd(), 'apps/portal/src')].find((d) =>
    existsSync(join(d, 'shared/templates/layout.njk')),
  );
  if (!found) throw new Error('the portal’s templates are not found (apps/portal/src/**/templates)');
  return found;
}

export function createTemplates(): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(portalSourceDir()), {
    autoescape: true,
    throwOnUndefined: false,
  });
  env.addFilter('date', (iso: string | null | undefined) => formatDate(iso, false));
  env.addFilter('dateTime', (iso: string | null | undefined) => formatDate(iso, true));
  return env;
}

const dateFormat = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'Europe/London' });
const dateTimeFormat = new Intl.DateTimeFormat('en-GB', {
  dateStyle: 'long',
  timeStyle: 'short',
  timeZone: 'Europe/London',
});

function formatDate(iso: string | null | undefined, withTime: boolean): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return (withTime ? dateTimeFormat : dateFormat).format(d);
}

export interface PageData {
  /** The page's <title> and, unless the template says otherwise, its heading. */
  title: string;
  errors?: FormErrors;
  [key: string]: unknown;
}

/** Renders a page inside the layout, with what every page shows: the consortium, the user, the CSRF token. */
@Injectable()
export class Pages {
  private readonly env = createTemplates();

  constructor(@Inject(PORTAL_RUNTIME) private readonly runtime: PortalRuntime) {}

  /** A page with form errors is answered 400 unless a status is given. */
  render(req: PortalRequest, res: Response, template: string, data: PageData, status?: number): void {
    const c = this.runtime.consortium;
    const user = req.session?.user ?? null;
    const html = this.env.render(template, {
      ...data,
      consortium: { name: c.name, place: c.place },
      user: user && { ...user, organisationName: organisationName(c, user.organisation) },
      nav: user ? ROLE_PAGES[user.role].nav : [],
      home: user ? ROLE_PAGES[user.role].home : '/sign-in',
      csrfToken: req.session?.csrfToken ?? req.signInToken,
      flash: req.session?.flash ?? null,
      path: req.path,
      orgName: (id: string) => organisationName(c, id),
    });
    res
      .status(status ?? (data.errors?.any ? 400 : 200))
      .type('html')
      .send(html);
  }
}
