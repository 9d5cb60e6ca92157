import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request } from 'express';
import { ACCESS_RULES, Action, allows } from './access';
import { Actor, InvalidTokenError, TokenKeys } from './identity';
import { Problem } from './problem';

export const TOKEN_KEYS = Symbol('TOKEN_KEYS');
/** The metadata key of @Public(): the portal's page guard honours it too (health, metrics). */
export const PUBLIC = 'hls:public';
const ACTION_KEY = 'hls:action';

/** Marks a route that needs no token (health checks, the API description). */
export const Public = () => SetMetadata(PUBLIC, true);
/** Names the action a route performs: the access table says which roles may (others get 403). */
export const Allow = (action: Action) => SetMetadata(ACTION_KEY, action);

type WithActor = Request & { actor?: Actor };

/** Nothing is readable without a valid token: a missing or bad one is 401, the wrong role 403. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(TOKEN_KEYS) private readonly keys: TokenKeys,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<WithActor>();
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m)
      throw new Problem(
        401,
        'Unauthorized',
        'Sign in first: send your token as "Authorization: Bearer <token>"',
      );
    try {
      req.actor = await this.keys.verify(m[1]);
    } catch (e) {
      if (e instanceof InvalidTokenError)
        throw new Problem(401, 'Unauthorized', `${e.message}; sign in again`);
      throw e;
    }
    const action = this.reflector.getAllAndOverride<Action | undefined>(ACTION_KEY, targets);
    // A route that forgot to name its action is closed, not open.
    if (!action) throw new Problem(403, 'Forbidden', 'This route has no access rule');
    if (!allows(action, req.actor.role)) {
      const roles = ACCESS_RULES[action].roles.join(' or ');
      throw new Problem(
        403,
        'Forbidden',
        `This needs the role ${roles}; you are signed in as ${req.actor.role}`,
      );
    }
    return true;
  }
}

export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const actor = ctx.switchToHttp().getRequest<WithActor>().actor;
  if (!actor) throw new Problem(401, 'Unauthorized', 'Sign in first');
  return actor;
});
