import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { Response } from 'express';
import { CsrfRejected, NotForYou, PortalRequest, SignInRequired } from './http-context';
import { ROLE_PAGES } from './navigation';
import { Pages } from './pages';
import { ServiceFailure } from './services';

interface ErrorPage {
  status: number;
  title: string;
  message: string;
  detail?: string;
  next: { href?: string; text: string }[];
}

/** Every failure as a page in the layout that says what happened and what to do next; never a stack trace. */
@Catch()
export class PageErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('portal');

  constructor(private readonly pages: Pages) {}

  catch(e: unknown, host: ArgumentsHost) {
    const req = host.switchToHttp().getRequest<PortalRequest>();
    const res = host.switchToHttp().getResponse<Response>();
    if (e instanceof SignInRequired) {
      res.redirect(303, '/sign-in');
      return;
    }
    const page = this.pageFor(e, req);
    if (page.status >= 500) this.logger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    this.pages.render(req, res, 'shared/templates/error-page.njk', { ...page }, page.status);
  }

  private pageFor(e: unknown, req: PortalRequest): ErrorPage {
    const home = req.session ? ROLE_PAGES[req.session.user.role].home : '/sign-in';
    const toHome = { href: home, text: req.session ? 'Go to your home page' : 'Sign in' };
    if (e instanceof CsrfRejected)
      return {
        status: 403,
        title: 'This form could not be sent',
        message:
          'The form was older than your session, or came from another page or site, so nothing was saved. ' +
          'Your session may have ended.',
        next: [{ text: 'Go back, reload the page and send the form again' }, toHome],
      };
    if (e instanceof NotForYou)
      return forbidden(
        `This page is for ${e.roles.map((r) => r.replace('-', ' ')).join(' or ')} users only.`,
        undefined,
        toHome,
      );
    if (e instanceof ServiceFailure) return this.serviceFailure(e, toHome);
    if (e instanceof HttpException && e.getStatus() === 404) return notFound(toHome);
    if (e instanceof HttpException && e.getStatus() < 500)
      return {
        status: e.getStatus(),
        title: 'Something was not right with that request',
        message: e.message,
        next: [toHome],
      };
    return {
      status: 500,
      title: 'Sorry, there is a problem with the service',
      message: 'Nothing more was saved than what you may already see. Try again later.',
      next: [toHome],
    };
  }

  private serviceFailure(e: ServiceFailure, toHome: { href: string; text: string }): ErrorPage {
    const { status, detail } = e.problem;
    if (status === 403) return forbidden('The service refused this to your organisation.', detail, toHome);
    if (status === 404) return { ...notFound(toHome), detail };
    if (status === 410)
      return {
        status: 410,
        title: 'This person’s records were erased',
        message:
          'The person asked for their records to be erased, or their retention ended. Nothing about them can be shown.',
        next: [toHome],
      };
    if (status === 401)
      return {
        status: 401,
        title: 'Sign in again',
        message: 'The service did not accept your sign-in.',
        next: [{ href: '/sign-in', text: 'Sign in' }],
      };
    return {
      status: 503,
      title: 'Sorry, the service is unavailable',
      message:
        'A service the portal depends on did not answer. Nothing was saved. Try again in a few minutes.',
      next: [toHome],
    };
  }
}

function forbidden(
  message: string,
  detail: string | undefined,
  toHome: { href: string; text: string },
): ErrorPage {
  return {
    status: 403,
    title: 'You cannot see this page',
    message,
    detail,
    next: [
      toHome,
      {
        text: 'If you need this, ask your organisation’s steward, or sign out and sign in as the right user',
      },
    ],
  };
}

function notFound(toHome: { href: string; text: string }): ErrorPage {
  return {
    status: 404,
    title: 'Page not found',
    message:
      'If you typed the web address, check it is correct. If you followed a link, the page or record may have moved or not be there yet.',
    next: [toHome, { text: 'Or use the links at the top of the page to find what you need' }],
  };
}
