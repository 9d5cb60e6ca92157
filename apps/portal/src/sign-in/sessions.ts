import { createHash, randomBytes } from 'node:crypto';
import { Actor, Role } from '@app/platform';
import { Pool } from 'pg';

export interface Session {
  /** The id as the cookie carries it. */
  id: string;
  user: Actor;
  csrfToken: string;
  /** A one-off message for the next page (what the last form did). */
  flash: string | null;
  /** The organisation whose identity provider vouched for the user; null for a local account. */
  signedOnWith: string | null;
}

/** What ended with a session: for a signed-on user, what signing out at their provider needs. */
export interface EndedSession {
  signedOnWith: string | null;
  idToken: string | null;
}

/** A signed-in session lasts a working day; then the user signs in again. */
const LIFETIME_MS = 12 * 60 * 60 * 1000;

const hashOf = (id: string) => createHash('sha256').update(id).digest('hex');
export const randomToken = () => randomBytes(32).toString('base64url');

/** Sessions kept server-side in PostgreSQL; the cookie carries only a random 32-byte id. */
export class Sessions {
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {}

  /** A new session with a new id and CSRF token: never one the browser held before signing in. */
  async open(user: Actor, signOn?: { organisation: string; idToken?: string }): Promise<Session> {
    const id = randomToken();
    const csrfToken = randomToken();
    await this.pool.query(`DELETE FROM ${this.schema}.portal_sessions WHERE expires_at < now()`);
    await this.pool.query(
      `INSERT INTO ${this.schema}.portal_sessions
         (id_hash, user_id, csrf_token, expires_at, signed_on_with, id_token)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        hashOf(id),
        user.userId,
        csrfToken,
        new Date(Date.now() + LIFETIME_MS),
        signOn?.organisation ?? null,
        signOn?.idToken ?? null,
      ],
    );
    return { id, user, csrfToken, flash: null, signedOnWith: signOn?.organisation ?? null };
  }

  /** The session this id opens, if it is still in force; its flash message is taken (shown once). */
  async find(id: string): Promise<Session | null> {
    const { rows } = await this.pool.query(
      `WITH found AS (
         SELECT s.id_hash, s.csrf_token, s.flash, s.signed_on_with, u.user_id, u.name, u.organisation, u.role
         FROM ${this.schema}.portal_sessions s JOIN ${this.schema}.portal_users u USING (user_id)
         WHERE s.id_hash = $1 AND s.expires_at > now()),
       taken AS (
         UPDATE ${this.schema}.portal_sessions SET flash = NULL
         WHERE id_hash = $1 AND flash IS NOT NULL AND id_hash IN (SELECT id_hash FROM found))
       SELECT * FROM found`,
      [hashOf(id)],
    );
    if (!rows.length) return null;
    const [r] = rows;
    return {
      id,
      csrfToken: r.csrf_token,
      flash: r.flash,
      signedOnWith: r.signed_on_with,
      user: { userId: r.user_id, name: r.name, organisation: r.organisation, role: r.role as Role },
    };
  }

  async flash(id: string, message: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.schema}.portal_sessions SET flash = $2 WHERE id_hash = $1`, [
      hashOf(id),
      message,
    ]);
  }

  async close(id: string): Promise<EndedSession | null> {
    const { rows } = await this.pool.query(
      `DELETE FROM ${this.schema}.portal_sessions WHERE id_hash = $1 RETURNING signed_on_with, id_token`,
      [hashOf(id)],
    );
    return rows.length ? { signedOnWith: rows[0].signed_on_with, idToken: rows[0].id_token } : null;
  }
}
