import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { Pool } from 'pg';

/**
 * How many password sign-ins may fail in a window before more are refused: per user name typed (whether or
 * not such a user exists) and per client address. An address gets more, as a whole office may share one.
 */
export interface SignInLimits {
  perAccount: number;
  perAddress: number;
  windowMinutes: number;
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = { perAccount: 5, perAddress: 50, windowMinutes: 15 };

export type Verdict = { allowed: true } | { allowed: false; retryAt: Date };

/** A counter as the database returns it after counting this attempt. */
export interface Counter {
  kind: 'account' | 'address';
  failures: number;
  windowEnds: Date;
}

/** Whether this attempt may go ahead: each counter already includes it, so the limit-th attempt is the last. */
export function verdict(counters: Counter[], limits: SignInLimits): Verdict {
  const over = counters.filter(
    (c) => c.failures > (c.kind === 'account' ? limits.perAccount : limits.perAddress),
  );
  if (!over.length) return { allowed: true };
  return { allowed: false, retryAt: new Date(Math.max(...over.map((c) => c.windowEnds.getTime()))) };
}

/**
 * The address a limit counts against: an IPv4 address (also when written IPv4-mapped), or an IPv6 address's
 * /64 network, as one household or office gets a whole /64.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  if (!isIPv6(ip)) return ip;
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** The table holds hashes only: neither the user names people typed (sometimes a password) nor addresses. */
const keyOf = (kind: 'account' | 'address', value: string) =>
  `${kind}:${createHash('sha256').update(value).digest('base64url')}`;

/**
 * Failed password sign-ins counted in PostgreSQL, so that every instance of the portal sees the same counts.
 * An attempt is counted before its password is checked, in one statement, so that many attempts sent at
 * once cannot all slip in under the limit; a success then takes its count back.
 */
export class SignInThrottle {
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    readonly limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS,
  ) {}

  async attempt(userId: string, address: string): Promise<Verdict> {
    const account = keyOf('account', userId.trim().toLowerCase());
    const from = keyOf('address', addressKey(address));
    const t = `${this.schema}.portal_sign_in_failures`;
    await this.pool.query(
      `DELETE FROM ${t} WHERE window_started < now() - make_interval(mins => $1::int) AND key NOT IN ($2, $3)`,
      [this.limits.windowMinutes, account, from],
    );
    // A window that has passed starts again with this attempt.
    const { rows } = await this.pool.query(
      `INSERT INTO ${t} AS f (key, failures, window_started) VALUES ($1, 1, now()), ($2, 1, now())
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN f.window_started <= now() - make_interval(mins => $3::int) THEN 1
                         ELSE f.failures + 1 END,
         window_started = CASE WHEN f.window_started <= now() - make_interval(mins => $3::int) THEN now()
                               ELSE f.window_started END
       RETURNING key, failures, window_started + make_interval(mins => $3::int) AS window_ends`,
      [account, from, this.limits.windowMinutes],
    );
    return verdict(
      rows.map((r) => ({
        kind: r.key === account ? 'account' : 'address',
        failures: r.failures,
        windowEnds: new Date(r.window_ends),
      })),
      this.limits,
    );
  }

  /** A right password: the account starts afresh, and the address is not charged for it. */
  async succeeded(userId: string, address: string): Promise<void> {
    const t = `${this.schema}.portal_sign_in_failures`;
    await this.pool.query(
      `WITH cleared AS (DELETE FROM ${t} WHERE key = $1)
       UPDATE ${t} SET failures = greatest(failures - 1, 0) WHERE key = $2`,
      [keyOf('account', userId.trim().toLowerCase()), keyOf('address', addressKey(address))],
    );
  }
}
