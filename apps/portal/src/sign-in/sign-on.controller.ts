import { Controller, Get, Inject, NotFoundException, Param, Req, Res } from '@nestjs/common';
import { Response } from 'express';
import { cookieNames, cookieOptions, PortalRequest, PublicPage } from '../shared/http-context';
import { ROLE_PAGES } from '../shared/navigation';
import { Pages } from '../shared/pages';
import { PORTAL_RUNTIME, PortalRuntime } from '../shared/portal-runtime';
import { Sessions } from './sessions';
import { SESSIONS, SIGN_ON, USERS } from './sign-in.controller';
import { ProviderUnavailable, SignOnOrganisation, SignOnService } from './sign-on';
import { PortalUsers } from './users';

const ERROR_PAGE = 'shared/templates/error-page.njk';

/**
 * Sign-in with an organisation's own identity provider: the button on the sign-in page leads here, the
 * provider sends the browser back to the callback, and the session that follows is like a local user's.
 */
@Controller('sign-in/with')
export class SignOnController {
  constructor(
    private readonly pages: Pages,
    @Inject(SIGN_ON) private readonly signOn: SignOnService,
    @Inject(USERS) private readonly users: PortalUsers,
    @Inject(SESSIONS) private readonly sessions: Sessions,
    @Inject(PORTAL_RUNTIME) private readonly runtime: PortalRuntime,
  ) {}

  /**
   * A link rather than a form: a form's navigation, redirects included, is held to the page's CSP
   * form-action, and a provider's sign-in may pass through origins the portal cannot list (federation).
   * Starting a sign-in changes nothing a forged request could exploit: its answer is bound to this browser.
   */
  @PublicPage()
  @Get(':organisation')
  async start(@Req() req: PortalRequest, @Res() res: Response, @Param('organisation') id: string) {
    if (req.session) return res.redirect(303, ROLE_PAGES[req.session.user.role].home);
    const o = this.organisation(id);
    try {
      res.redirect(303, await this.signOn.begin(o, req.signInToken));
    } catch (e) {
      if (!(e instanceof ProviderUnavailable)) throw e;
      this.unavailable(req, res, o);
    }
  }

  @PublicPage()
  @Get(':organisation/callback')
  async callback(@Req() req: PortalRequest, @Res() res: Response, @Param('organisation') id: string) {
    const o = this.organisation(id);
    const names = cookieNames(this.runtime.secureCookies);
    const browserToken = req.signInToken ?? req.cookies?.[names.signIn] ?? '';
    const outcome = await this.signOn.finish(o, req.originalUrl, browserToken);
    switch (outcome.kind) {
      case 'signed-in': {
        await this.users.signedOn(outcome.actor);
        if (req.session) await this.sessions.close(req.session.id);
        const session = await this.sessions.open(outcome.actor, {
          organisation: o.id,
          idToken: outcome.idToken,
        });
        res.cookie(names.session, session.id, cookieOptions(this.runtime.secureCookies));
        res.clearCookie(names.signIn, cookieOptions(this.runtime.secureCookies));
        return res.redirect(303, ROLE_PAGES[outcome.actor.role].home);
      }
      case 'no-role': {
        // A role taken away at the provider ends the sessions the person still had.
        await this.users.forgetSignedOn(o.id, outcome.userId);
        return this.pages.render(
          req,
          res,
          ERROR_PAGE,
          {
            title: 'You do not have access to this portal yet',
            message: `${o.name} confirmed who you are, but your account there is not given a role in the ${this.runtime.consortium.name} portal (a worker, a steward or a statutory reader).`,
            next: [
              {
                text: `Ask your organisation’s administrator at ${o.name} to give your account access to the portal, then sign in again`,
              },
              { href: '/sign-in', text: 'Go back to the sign-in page' },
            ],
          },
          403,
        );
      }
      case 'not-started':
        return this.pages.render(
          req,
          res,
          ERROR_PAGE,
          {
            title: 'This sign-in could not be finished',
            message:
              'The answer from your organisation’s sign-in page did not match a sign-in started in this browser, or it came too late. Nobody was signed in.',
            next: [{ href: '/sign-in', text: 'Start signing in again' }],
          },
          400,
        );
      case 'refused':
        return this.pages.render(
          req,
          res,
          ERROR_PAGE,
          {
            title: 'You were not signed in',
            message: `${outcome.organisation.name}’s sign-in did not sign you in to the portal, so nobody was signed in.`,
            detail: outcome.reason,
            next: [
              { href: '/sign-in', text: 'Try signing in again' },
              { text: `If it happens again, tell your organisation’s administrator at ${o.name}` },
            ],
          },
          401,
        );
      case 'unavailable':
        return this.unavailable(req, res, outcome.organisation);
    }
  }

  private organisation(id: string): SignOnOrganisation {
    const o = this.signOn.find(id);
    if (!o) throw new NotFoundException();
    return o;
  }

  private unavailable(req: PortalRequest, res: Response, o: SignOnOrganisation) {
    this.pages.render(
      req,
      res,
      ERROR_PAGE,
      {
        title: 'Sorry, your organisation’s sign-in is not answering',
        message: `The portal could not reach ${o.name}’s sign-in service. Nobody was signed in. Try again in a few minutes.`,
        next: [
          { href: '/sign-in', text: 'Go back to the sign-in page' },
          { text: `If it goes on, tell your organisation’s administrator at ${o.name}` },
        ],
      },
      503,
    );
  }
}
