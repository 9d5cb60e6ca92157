import { Body, Controller, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { Response } from 'express';
import { FieldSpec, FormErrors, Posted, text } from '../shared/forms';
import { cookieNames, cookieOptions, PortalRequest, PublicPage } from '../shared/http-context';
import { ROLE_PAGES } from '../shared/navigation';
import { Pages } from '../shared/pages';
import { PORTAL_RUNTIME, PortalRuntime } from '../shared/portal-runtime';
import { Sessions } from './sessions';
import { SignOnService } from './sign-on';
import { SignInThrottle } from './throttle';
import { PortalUsers } from './users';

export const USERS = Symbol('USERS');
export const SESSIONS = Symbol('SESSIONS');
export const SIGN_ON = Symbol('SIGN_ON');
export const THROTTLE = Symbol('THROTTLE');

const FIELDS = {
  userId: { id: 'user-id', label: 'User name' },
  password: { id: 'password', label: 'Password' },
} satisfies Record<string, FieldSpec>;

@Controller()
export class SignInController {
  constructor(
    private readonly pages: Pages,
    @Inject(USERS) private readonly users: PortalUsers,
    @Inject(SESSIONS) private readonly sessions: Sessions,
    @Inject(PORTAL_RUNTIME) private readonly runtime: PortalRuntime,
    @Inject(SIGN_ON) private readonly signOn: SignOnService,
    @Inject(THROTTLE) private readonly throttle: SignInThrottle,
  ) {}

  private render(req: PortalRequest, res: Response, data: Record<string, unknown>, status?: number) {
    const signOn = this.signOn.organisations.map((o) => ({ id: o.id, name: o.name }));
    this.pages.render(
      req,
      res,
      'sign-in/templates/sign-in.njk',
      { title: 'Sign in', signOn, ...data },
      status,
    );
  }

  @PublicPage()
  @Get()
  root(@Req() req: PortalRequest, @Res() res: Response) {
    res.redirect(303, req.session ? ROLE_PAGES[req.session.user.role].home : '/sign-in');
  }

  @PublicPage()
  @Get('sign-in')
  form(@Req() req: PortalRequest, @Res() res: Response) {
    if (req.session) return res.redirect(303, ROLE_PAGES[req.session.user.role].home);
    this.render(req, res, { userId: '' });
  }

  @PublicPage()
  @Post('sign-in')
  @HttpCode(200)
  async signIn(@Req() req: PortalRequest, @Res() res: Response, @Body() body: Posted) {
    const userId = text(body, 'userId');
    const password = typeof body.password === 'string' ? body.password : '';
    const errors = new FormErrors();
    if (!userId) errors.add(FIELDS.userId, 'Enter your user name');
    if (!password) errors.add(FIELDS.password, 'Enter your password');
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    if (!errors.any) {
      const verdict = await this.throttle.attempt(userId, address);
      if (!verdict.allowed) return this.tooManyTries(req, res, verdict.retryAt);
    }
    const user = errors.any ? null : await this.users.check(userId, password);
    if (user) await this.throttle.succeeded(userId, address);
    // One message for an unknown user and a wrong password, so the form does not tell which user names exist.
    if (!errors.any && !user) errors.add(FIELDS.userId, 'The user name or password is not right');
    if (!user) {
      this.render(req, res, { userId, errors }, 400);
      return;
    }
    if (req.session) await this.sessions.close(req.session.id);
    const session = await this.sessions.open(user);
    const names = cookieNames(this.runtime.secureCookies);
    res.cookie(names.session, session.id, cookieOptions(this.runtime.secureCookies));
    res.clearCookie(names.signIn, cookieOptions(this.runtime.secureCookies));
    res.redirect(303, ROLE_PAGES[user.role].home);
  }

  /**
   * The same page whether or not the user name exists, and whether the user name's or the address's limit
   * was reached, so that it tells nobody which user names are real.
   */
  private tooManyTries(req: PortalRequest, res: Response, retryAt: Date) {
    const seconds = Math.max(1, Math.ceil((retryAt.getTime() - Date.now()) / 1000));
    const at = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/London',
      hour: '2-digit',
      minute: '2-digit',
    }).format(new Date(retryAt.getTime() + 59_999)); // rounded up to the minute
    res.setHeader('Retry-After', String(seconds));
    this.pages.render(
      req,
      res,
      'shared/templates/error-page.njk',
      {
        title: 'Too many tries to sign in',
        message: `Signing in with a password has been tried too many times with this user name, or from your network. For everyone’s safety it is paused for now. You can try again after ${at} (in about ${Math.ceil(seconds / 60)} minutes).`,
        next: [
          { text: `Wait until ${at}, then sign in again` },
          { text: 'If you have forgotten your password, ask your organisation’s steward to set a new one' },
          ...(this.signOn.organisations.length
            ? [{ href: '/sign-in', text: 'Or sign in with your organisation’s account' }]
            : []),
        ],
      },
      429,
    );
  }

  /**
   * Sign out ends the session on the server, not only in the browser; a signed-on user is then sent to sign
   * out at their organisation's provider too, where it offers that (it comes back to the signed-out page).
   */
  @PublicPage()
  @Post('sign-out')
  async signOut(@Req() req: PortalRequest, @Res() res: Response) {
    const ended = req.session ? await this.sessions.close(req.session.id) : null;
    res.clearCookie(
      cookieNames(this.runtime.secureCookies).session,
      cookieOptions(this.runtime.secureCookies),
    );
    const atProvider = ended?.signedOnWith
      ? await this.signOn.endSessionUrl(ended.signedOnWith, ended.idToken)
      : null;
    res.redirect(303, atProvider ?? '/signed-out');
  }

  @PublicPage()
  @Get('signed-out')
  signedOut(@Req() req: PortalRequest, @Res() res: Response) {
    this.pages.render(req, res, 'sign-in/templates/signed-out.njk', { title: 'You have signed out' });
  }

  /** The home page of roles whose own pages are still to come. */
  @Get('home')
  home(@Req() req: PortalRequest, @Res() res: Response) {
    this.pages.render(req, res, 'sign-in/templates/home.njk', { title: 'Your pages' });
  }
}
