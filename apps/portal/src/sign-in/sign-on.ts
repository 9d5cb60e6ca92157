import { createHash } from 'node:crypto';
import { Consortium, SignOn } from '@app/consortium';
import { Actor, Role } from '@app/platform';
import { BaseClient, custom, errors, generators, Issuer, TokenSet } from 'openid-client';
import { Pool } from 'pg';

/** An organisation whose staff sign in with its own OpenID Connect provider, its client secret looked up. */
export interface SignOnOrganisation {
  id: string;
  name: string;
  config: SignOn;
  clientSecret?: string;
}

/**
 * The organisations of the consortium file that have `signOn`, each with its client secret taken from the
 * secrets (the environment, in a deployment). A secret that is named but missing stops the portal at start,
 * with the name of what to set: a sign-in button that can only fail is worse than none.
 */
export function signOnOrganisations(
  c: Consortium,
  secrets: Record<string, string | undefined>,
): SignOnOrganisation[] {
  const orgs = [...c.partners, ...c.statutoryBodies].filter((o) => o.signOn);
  const missing = orgs.filter(
    (o) => o.signOn?.clientSecretFrom && !secrets[o.signOn.clientSecretFrom]?.trim(),
  );
  if (missing.length)
    throw new Error(
      `single sign-on: set ${missing.map((o) => `${o.signOn?.clientSecretFrom} (the client secret of ${o.id})`).join(', ')}`,
    );
  return orgs.map((o) => ({
    id: o.id,
    name: o.name,
    config: o.signOn as SignOn,
    clientSecret: o.signOn?.clientSecretFrom ? secrets[o.signOn.clientSecretFrom]?.trim() : undefined,
  }));
}

/** A claim by name, or by a dotted path into an object claim (Keycloak's realm_access.roles). */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (path in claims) return claims[path];
  let at: unknown = claims;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** The portal role a person's claims give them: the first rule whose value the claim holds; none, no access. */
export function roleFromClaims(roles: SignOn['roles'], claims: Record<string, unknown>): Role | null {
  const raw = claimAt(claims, roles.claim);
  const held = new Set(
    (Array.isArray(raw) ? raw : [raw])
      .filter((v) => typeof v === 'string' || typeof v === 'number')
      .map(String),
  );
  return roles.map.find((rule) => held.has(rule.value))?.role ?? null;
}

/** The user id a signed-on person has in the portal: never the same as a local account's, never another org's. */
export const signedOnUserId = (organisation: string, subject: string) => `${organisation}:${subject}`;

const hashOf = (s: string) => createHash('sha256').update(s).digest('hex');

/** How long a person has to finish signing in at their provider. */
const PENDING_MS = 10 * 60 * 1000;

/** What a finished round trip to the provider came to. */
export type SignOnOutcome =
  | { kind: 'signed-in'; actor: Actor; idToken: string | undefined }
  | { kind: 'no-role'; organisation: SignOnOrganisation; userId: string }
  /** No sign-in of this browser is waiting for this answer (state tampered with, reused, or too old). */
  | { kind: 'not-started' }
  /** The provider said no (the person cancelled, or it refused the portal), or its answer did not verify. */
  | { kind: 'refused'; organisation: SignOnOrganisation; reason: string }
  | { kind: 'unavailable'; organisation: SignOnOrganisation };

export class ProviderUnavailable extends Error {
  constructor(
    readonly organisation: SignOnOrganisation,
    cause: unknown,
  ) {
    super(`the sign-in service of ${organisation.id} did not answer (${(cause as Error)?.message ?? cause})`);
    this.name = 'ProviderUnavailable';
  }
}

/**
 * OpenID Connect sign-in (authorization code flow with PKCE) with each organisation's own provider. The
 * state, nonce and PKCE verifier of a sign-in in progress are kept server-side, bound to the browser's
 * pre-sign-in token, and used once; the ID token is checked by openid-client (signature, issuer, audience,
 * expiry, nonce).
 */
export class SignOnService {
  private readonly clients = new Map<string, Promise<BaseClient>>();
  /** Each organisation's end-session endpoint, once discovered. */
  private readonly endpoints = new Map<string, string>();
  private readonly byId: Map<string, SignOnOrganisation>;

  constructor(
    readonly organisations: SignOnOrganisation[],
    private readonly pool: Pool,
    private readonly schema: string,
    /** The portal's address as browsers reach it (the redirect URIs registered at each provider start with it). */
    private readonly publicUrl: () => string,
  ) {
    this.byId = new Map(organisations.map((o) => [o.id, o]));
  }

  find(id: string): SignOnOrganisation | undefined {
    return this.byId.get(id);
  }

  redirectUri(o: SignOnOrganisation): string {
    return `${this.publicUrl()}/sign-in/with/${o.id}/callback`;
  }

  signedOutUrl(): string {
    return `${this.publicUrl()}/signed-out`;
  }

  /** Where to send the browser to sign in at the organisation's provider. */
  async begin(o: SignOnOrganisation, browserToken: string): Promise<string> {
    const client = await this.client(o);
    const state = generators.state();
    const nonce = generators.nonce();
    const codeVerifier = generators.codeVerifier();
    await this.pool.query(`DELETE FROM ${this.schema}.portal_sign_on_requests WHERE expires_at < now()`);
    await this.pool.query(
      `INSERT INTO ${this.schema}.portal_sign_on_requests
         (state_hash, browser_hash, organisation, nonce, code_verifier, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [hashOf(state), hashOf(browserToken), o.id, nonce, codeVerifier, new Date(Date.now() + PENDING_MS)],
    );
    return client.authorizationUrl({
      scope: o.config.scopes.join(' '),
      state,
      nonce,
      code_challenge: generators.codeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
  }

  /** The provider's answer at the callback address (`requestUrl` is the path with its query). */
  async finish(o: SignOnOrganisation, requestUrl: string, browserToken: string): Promise<SignOnOutcome> {
    const params = new URL(requestUrl, 'http://portal.invalid').searchParams;
    const state = params.get('state');
    if (!state || !browserToken) return { kind: 'not-started' };
    // Taken whatever happens next: an answer is used once.
    const { rows } = await this.pool.query(
      `DELETE FROM ${this.schema}.portal_sign_on_requests
       WHERE state_hash = $1 AND browser_hash = $2 AND organisation = $3 AND expires_at > now()
       RETURNING nonce, code_verifier`,
      [hashOf(state), hashOf(browserToken), o.id],
    );
    if (!rows.length) return { kind: 'not-started' };
    if (params.get('error'))
      return {
        kind: 'refused',
        organisation: o,
        reason: params.get('error_description') || String(params.get('error')),
      };
    let client: BaseClient;
    try {
      client = await this.client(o);
    } catch {
      return { kind: 'unavailable', organisation: o };
    }
    let tokens: TokenSet;
    try {
      tokens = await client.callback(this.redirectUri(o), client.callbackParams(requestUrl), {
        state,
        nonce: rows[0].nonce,
        code_verifier: rows[0].code_verifier,
        response_type: 'code',
      });
    } catch (e) {
      if (e instanceof errors.OPError || e instanceof errors.RPError)
        return { kind: 'refused', organisation: o, reason: e.message };
      return { kind: 'unavailable', organisation: o };
    }
    let claims: Record<string, unknown> = tokens.claims();
    const { roles, nameClaim } = o.config;
    // Many providers put profile and group claims only at the userinfo endpoint in the code flow.
    if (
      (claimAt(claims, roles.claim) === undefined || claims[nameClaim] === undefined) &&
      tokens.access_token
    ) {
      try {
        claims = { ...(await client.userinfo(tokens)), ...claims };
      } catch {
        // The ID token's claims decide alone.
      }
    }
    const role = roleFromClaims(roles, claims);
    const userId = signedOnUserId(o.id, String(claims.sub));
    if (!role) return { kind: 'no-role', organisation: o, userId };
    const name = claims[nameClaim] ?? claims.name ?? claims.email;
    return {
      kind: 'signed-in',
      idToken: tokens.id_token,
      actor: {
        userId,
        name: typeof name === 'string' && name.trim() ? name.trim() : `${o.name} user`,
        organisation: o.id,
        role,
      },
    };
  }

  /** The provider's RP-initiated logout address, if it offers one (and can be reached now). */
  async endSessionUrl(organisationId: string, idToken: string | null): Promise<string | null> {
    const o = this.byId.get(organisationId);
    if (!o) return null;
    try {
      const client = await this.client(o);
      if (!client.issuer.metadata.end_session_endpoint) return null;
      return client.endSessionUrl({
        post_logout_redirect_uri: this.signedOutUrl(),
        ...(idToken ? { id_token_hint: idToken } : {}),
      });
    } catch {
      return null;
    }
  }

  /**
   * Origins the portal's forms may lead to (CSP form-action): sign-out is a form, and for a signed-on user it
   * ends at the provider's end-session page. The issuers, and each endpoint discovered so far.
   */
  formTargets(): string[] {
    const origins = new Set(this.organisations.map((o) => new URL(o.config.issuer).origin));
    for (const o of this.organisations) {
      const endpoint = this.endpoints.get(o.id);
      if (endpoint) origins.add(new URL(endpoint).origin);
    }
    return [...origins];
  }

  /** Reads every provider's discovery document now, so that the pages' CSP knows their endpoints early. */
  warmUp(): void {
    for (const o of this.organisations) this.client(o).catch(() => undefined);
  }

  /** The provider's client, discovered on first use; a failed discovery is tried again next time. */
  private client(o: SignOnOrganisation): Promise<BaseClient> {
    let found = this.clients.get(o.id);
    if (!found) {
      found = (async () => {
        Issuer[custom.http_options] = () => ({ timeout: 5000 });
        const issuer = await Issuer.discover(o.config.issuer);
        const client = new issuer.Client({
          client_id: o.config.clientId,
          ...(o.clientSecret
            ? { client_secret: o.clientSecret, token_endpoint_auth_method: 'client_secret_basic' }
            : { token_endpoint_auth_method: 'none' }),
          redirect_uris: [this.redirectUri(o)],
          post_logout_redirect_uris: [this.signedOutUrl()],
          response_types: ['code'],
        });
        client[custom.http_options] = () => ({ timeout: 5000 });
        client[custom.clock_tolerance] = 5;
        const endSession = issuer.metadata.end_session_endpoint;
        if (typeof endSession === 'string') this.endpoints.set(o.id, endSession);
        return client;
      })().catch((e) => {
        this.clients.delete(o.id);
        throw new ProviderUnavailable(o, e);
      });
      this.clients.set(o.id, found);
    }
    return found;
  }
}
