import { consortiumSchema, loadConsortium } from '@app/consortium';
import { claimAt, roleFromClaims, signOnOrganisations } from '../../apps/portal/src/sign-in/sign-on';

const roles = {
  claim: 'groups',
  map: [
    { value: 'hls-stewards', role: 'steward' as const },
    { value: 'hls-workers', role: 'worker' as const },
  ],
};

const withSignOn = (signOn: Record<string, unknown>, where: 'partners' | 'statutoryBodies' = 'partners') => {
  const file = JSON.parse(JSON.stringify(loadConsortium()));
  file[where][0].signOn = signOn;
  return consortiumSchema.safeParse(file);
};

describe('single sign-on: configuration and role mapping', () => {
  it('gives the first role whose value the claim holds, from a list or a single value', () => {
    expect(roleFromClaims(roles, { groups: ['staff', 'hls-workers', 'hls-stewards'] })).toBe('steward');
    expect(roleFromClaims(roles, { groups: 'hls-workers' })).toBe('worker');
  });

  it('gives no role for claims that match no rule, or no claim at all', () => {
    expect(roleFromClaims(roles, { groups: ['staff', 'HLS-STEWARDS'] })).toBeNull();
    expect(roleFromClaims(roles, {})).toBeNull();
    expect(roleFromClaims(roles, { groups: [{ value: 'hls-stewards' }] })).toBeNull();
  });

  it('reads a dotted claim path into an object claim', () => {
    const claims = { realm_access: { roles: ['hls-stewards'] } };
    expect(claimAt(claims, 'realm_access.roles')).toEqual(['hls-stewards']);
    expect(roleFromClaims({ ...roles, claim: 'realm_access.roles' }, claims)).toBe('steward');
  });

  it('keeps the North Edinburgh file working without any identity provider', () => {
    const c = loadConsortium();
    expect(signOnOrganisations(c, {})).toEqual([]);
  });

  it('accepts a partner’s sign-on with defaults, and names the secret’s variable, never the secret', () => {
    const parsed = withSignOn({ issuer: 'https://login.example.org', clientId: 'portal', roles });
    expect(parsed.success).toBe(true);
    const signOn = parsed.data?.partners[0].signOn;
    expect(signOn?.scopes).toEqual(['openid', 'profile', 'email']);
    expect(signOn?.nameClaim).toBe('name');
    expect(
      withSignOn({ issuer: 'https://x', clientId: 'p', clientSecretFrom: 'not a name!', roles }).success,
    ).toBe(false);
  });

  it('refuses a mapping to a role the organisation’s staff cannot have, and scopes without openid', () => {
    const toReader = withSignOn({
      issuer: 'https://login.example.org',
      clientId: 'portal',
      roles: { claim: 'groups', map: [{ value: 'x', role: 'statutory-reader' }] },
    });
    expect(toReader.success).toBe(false);
    expect(toReader.error?.issues[0].message).toBe(
      "a partner's staff may be worker or steward, not statutory-reader",
    );
    const bodyToSteward = withSignOn(
      { issuer: 'https://login.example.org', clientId: 'portal', roles },
      'statutoryBodies',
    );
    expect(bodyToSteward.success).toBe(false);
    expect(withSignOn({ issuer: 'https://x', clientId: 'p', scopes: ['profile'], roles }).success).toBe(
      false,
    );
    expect(withSignOn({ issuer: 'https://x', clientId: 'p', roles: { claim: 'g', map: [] } }).success).toBe(
      false,
    );
  });

  it('stops the portal at start when a named client secret is not set, saying which variable to set', () => {
    const parsed = withSignOn({
      issuer: 'https://login.example.org',
      clientId: 'portal',
      clientSecretFrom: 'HLS_SIGN_ON_FRESH_START',
      roles,
    });
    expect(() => signOnOrganisations(parsed.data as never, {})).toThrow(
      'single sign-on: set HLS_SIGN_ON_FRESH_START (the client secret of fresh-start)',
    );
    const [o] = signOnOrganisations(parsed.data as never, { HLS_SIGN_ON_FRESH_START: ' s3cret ' });
    expect(o.clientSecret).toBe('s3cret');
  });
});
