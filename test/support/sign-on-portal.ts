import { Consortium, SignOn } from '@app/consortium';
import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { RunningPortal, startPortal } from '../../apps/portal/src/portal';
import { harnessState } from '../harness/index';
import { freePort, startTestIssuer, TestIssuer } from './oidc-issuer';

export interface SignOnPortal {
  idp: TestIssuer;
  portal: RunningPortal;
  /** The portal's address (known before it starts, as the issuer's client registration needs it). */
  base: string;
  schema: string;
}

/**
 * A portal for a running test consortium whose Fresh Start and NHS Lothian staff sign in with a test issuer:
 * Fresh Start as a confidential client (groups hls-stewards / hls-workers), NHS Lothian as a public client
 * (group hls-readers), Move On with a provider that is down. Accounts at the issuer: ceo, dsw, finance (no
 * role), officer (NHS).
 */
export async function startSignOnPortal(c: RunningConsortium, schemaSuffix: string): Promise<SignOnPortal> {
  const ROLES: SignOn['roles'] = {
    claim: 'groups',
    map: [
      { value: 'hls-stewards', role: 'steward' },
      { value: 'hls-workers', role: 'worker' },
    ],
  };

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const idp = await startTestIssuer({
    clients: [
      {
        client_id: 'hls-portal-fresh-start',
        client_secret: 'fresh-start-client-secret',
        redirect_uris: [`${base}/sign-in/with/fresh-start/callback`],
        post_logout_redirect_uris: [`${base}/signed-out`],
      },
      {
        // A public client: PKCE alone, no secret.
        client_id: 'hls-portal-nhs',
        token_endpoint_auth_method: 'none',
        redirect_uris: [`${base}/sign-in/with/nhs-lothian/callback`],
        post_logout_redirect_uris: [`${base}/signed-out`],
      },
    ],
    accounts: {
      ceo: { name: 'Aileen Steward', email: 'ceo@fresh-start.example', groups: ['staff', 'hls-stewards'] },
      dsw: { name: 'Dan Worker', groups: ['staff', 'hls-workers'] },
      finance: { name: 'Fiona Finance', groups: ['staff', 'finance'] },
      officer: { name: 'Olu Officer', groups: 'hls-readers' },
    },
  });
  const consortium: Consortium = {
    ...c.consortium,
    partners: c.consortium.partners.map((p) =>
      p.id === 'fresh-start'
        ? {
            ...p,
            signOn: {
              issuer: idp.issuer,
              clientId: 'hls-portal-fresh-start',
              clientSecretFrom: 'HLS_SIGN_ON_FRESH_START',
              scopes: ['openid', 'profile', 'groups'],
              nameClaim: 'name',
              roles: ROLES,
            },
          }
        : p.id === 'move-on'
          ? {
              ...p,
              // A provider that is down: nothing listens on port 1.
              signOn: {
                issuer: 'http://127.0.0.1:1/realms/move-on',
                clientId: 'x',
                scopes: ['openid'],
                nameClaim: 'name',
                roles: ROLES,
              },
            }
          : p,
    ),
    statutoryBodies: c.consortium.statutoryBodies.map((b) =>
      b.id === 'nhs-lothian'
        ? {
            ...b,
            signOn: {
              issuer: idp.issuer,
              clientId: 'hls-portal-nhs',
              scopes: ['openid', 'profile', 'groups'],
              nameClaim: 'name',
              roles: {
                claim: 'groups',
                map: [{ value: 'hls-readers', role: 'statutory-reader' as const }],
              },
            },
          }
        : b,
    ),
  };
  const schema = `${c.schemaOf('portal')}_${schemaSuffix}`;
  const portal = await startPortal({
    consortium,
    partnerUrls: Object.fromEntries([...c.partners].map(([id, p]) => [id, p.url])),
    projectionUrl: c.projection.url,
    tokenKeys: c.tokenKeys,
    databaseUrl: harnessState().databaseUrl,
    schema,
    port,
    signOnSecrets: { HLS_SIGN_ON_FRESH_START: 'fresh-start-client-secret' },
  });

  return { idp, portal, base, schema };
}
