import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';

export const ROLES = ['worker', 'steward', 'statutory-reader', 'consortium-admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is acting: a user of one organisation (a partner or a statutory body), in one role. */
export interface Actor {
  userId: string;
  name: string;
  organisation: string;
  role: Role;
}

export class InvalidTokenError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidTokenError';
  }
}

const ISSUER = 'hls-consortium';

/**
 * Signed bearer tokens (JWT, HS256), one signing key per organisation. The key id names the organisation, so
 * a token is checked with its own organisation's key and cannot claim to be from another one.
 */
export class TokenKeys {
  private readonly keys: Map<string, Uint8Array>;

  constructor(keys: Record<string, string>) {
    this.keys = new Map(Object.entries(keys).map(([org, secret]) => [org, Buffer.from(secret, 'base64url')]));
  }

  /** Fresh random keys for each organisation (the embedded default keeps them in its data folder). */
  static generate(organisations: string[]): Record<string, string> {
    return Object.fromEntries(organisations.map((o) => [o, randomBytes(32).toString('base64url')]));
  }

  async sign(actor: Actor, expiresIn = '12h'): Promise<string> {
    const key = this.keys.get(actor.organisation);
    if (!key) throw new Error(`no signing key for ${actor.organisation}`);
    return new SignJWT({ org: actor.organisation, role: actor.role, name: actor.name })
      .setProtectedHeader({ alg: 'HS256', kid: actor.organisation })
      .setSubject(actor.userId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(key);
  }

  async verify(token: string): Promise<Actor> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw new InvalidTokenError('the bearer token is not a JWT');
    }
    const key = kid ? this.keys.get(kid) : undefined;
    if (!key) throw new InvalidTokenError('the bearer token names no organisation of this consortium');
    try {
      const { payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: ['HS256'] });
      if (payload.org !== kid) throw new InvalidTokenError('the token was not issued for its organisation');
      if (!ROLES.includes(payload.role as Role)) throw new InvalidTokenError('the token has no known role');
      return {
        userId: String(payload.sub),
        name: String(payload.name ?? payload.sub),
        organisation: kid as string,
        role: payload.role as Role,
      };
    } catch (e) {
      if (e instanceof InvalidTokenError) throw e;
      throw new InvalidTokenError(`the bearer token is not valid (${(e as Error).message})`);
    }
  }
}
