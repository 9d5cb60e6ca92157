import { timingSafeEqual } from 'node:crypto';
import { Actor, PUBLIC, Role } from '@app/platform';
import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { NextFunction, Request, Response } from 'express';
import { randomToken, Session, Sessions } from '../sign-in/sessions';

/** A request as the portal's middleware leaves it: the session, if the cookie opens one. */
export type PortalRequest = Request & {
  session: Session | null;
  signInToken: string;
  /** Keeps a message for the next page this session loads (after a POST, its redirect). */
  flash(message: string): Promise<void>;
};

export function cookieNames(secure: boolean) {
  // The __Host- prefix makes the browser refuse the cookie unless it is Secure, host-only and for path /.
  const prefix = secure ? '__Host-' : '';
  return { session: `${prefix}hls-session`, signIn: `${prefix}hls-sign-in` };
}

export function cookieOptions(secure: boolean) {
  return { httpOnly: true, sameSite: 'lax' as const, secure, path: '/' };
}

/**
 * Loads the session the cookie names, before any route runs (so even a 404 page knows who is signed in). A
 * visitor who is not signed in gets a random token in a cookie of its own: the sign-in form carries it too,
 * so that a form posted from another site cannot sign a browser in (login CSRF).
 */
export function sessionMiddleware(sessions: Sessions, secure: boolean) {
  const names = cookieNames(secure);
  return async (req: Request, res: Response, next: NextFunction) => {
    const r = req as PortalRequest;
    try {
      const id = req.cookies?.[names.session];
      r.session = typeof id === 'string' && id ? await sessions.find(id) : null;
      r.flash = async (message) => {
        if (r.session) await sessions.flash(r.session.id, message);
      };
      if (!r.session) {
        const existing = req.cookies?.[names.signIn];
        r.signInToken = typeof existing === 'string' && existing.length >= 32 ? existing : randomToken();
        if (r.signInToken !== existing) res.cookie(names.signIn, r.signInToken, cookieOptions(secure));
      }
      next();
    } catch (e) {
      next(e);
    }
  };
}

const PUBLIC_PAGE = 'portal:public';
const ROLES_KEY = 'portal:roles';

/** A page anyone may see without signing in. */
export const PublicPage = () => SetMetadata(PUBLIC_PAGE, true);
/** The roles whose users see these pages; a signed-in user in another role gets the 403 page. */
export const ForRoles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** The signed-in user of this request (only on pages that are not public). */
export const SignedIn = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const session = ctx.switchToHttp().getRequest<PortalRequest>().session;
  if (!session) throw new SignInRequired();
  return session.user;
});

export class SignInRequired extends Error {
  constructor() {
    super('sign in first');
    this.name = 'SignInRequired';
  }
}

/** A page the user's role does not open. */
export class NotForYou extends Error {
  constructor(readonly roles: Role[]) {
    super(`for ${roles.join(', ')} only`);
    this.name = 'NotForYou';
  }
}

/** A form posted without this session's CSRF token (from another site, or from a page older than the session). */
export class CsrfRejected extends Error {
  constructor() {
    super('the form did not carry this session’s token');
    this.name = 'CsrfRejected';
  }
}

function sameToken(a: unknown, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Every page: a POST must carry the CSRF token (the session's, or before signing in the sign-in token); a
 * page that is not public needs a session; a page for some roles needs one of them.
 */
@Injectable()
export class PageGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<PortalRequest>();
    const targets = [context.getHandler(), context.getClass()];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const expected = req.session?.csrfToken ?? req.signInToken;
      if (!expected || !sameToken((req.body as Record<string, unknown> | undefined)?._csrf, expected))
        throw new CsrfRejected();
    }
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_PAGE, targets)) return true;
    // The probes' and the scraper's routes (@Public() in the platform: /health, /health/ready, /metrics).
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    if (!req.session) throw new SignInRequired();
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(req.session.user.role)) throw new NotForYou(roles);
    return true;
  }
}
