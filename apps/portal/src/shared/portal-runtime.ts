import { Consortium } from '@app/consortium';
import { TokenKeys } from '@app/platform';
import { Pool } from 'pg';

/** What every page handler of the portal needs, provided once by startPortal. */
export interface PortalRuntime {
  consortium: Consortium;
  /** Partner id -> its service's address; read when used, so a caller may fill it in after start. */
  partnerUrls: Record<string, string>;
  projectionUrl: string;
  tokenKeys: TokenKeys;
  /** The portal's own database (users, sessions), in `schema`. */
  pool: Pool;
  schema: string;
  secureCookies: boolean;
}

export const PORTAL_RUNTIME = Symbol('PORTAL_RUNTIME');

/** A partner's or statutory body's display name; the id itself if the consortium does not know it. */
export function organisationName(c: Consortium, id: string): string {
  return c.partners.find((p) => p.id === id)?.name ?? c.statutoryBodies.find((b) => b.id === id)?.name ?? id;
}
