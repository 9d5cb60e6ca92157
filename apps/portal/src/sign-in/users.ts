import { Actor, ROLES, Role } from '@app/platform';
import { Pool } from 'pg';
import { PasswordHasher } from './passwords';

/** A hash of a password nobody has: an unknown user's sign-in takes as long as a known one's. */
let decoy: Promise<string> | null = null;

/** The portal's users, each a user of one organisation in one role (the actor its tokens are signed for). */
export class PortalUsers {
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly hasher: PasswordHasher,
  ) {}

  /** Adds the users, or sets their password if they exist (the demo password printed at start always works). */
  async upsert(users: Actor[], password: string): Promise<void> {
    for (const u of users) {
      if (!ROLES.includes(u.role)) throw new Error(`${u.userId} has no known role (${u.role})`);
      await this.pool.query(
        `INSERT INTO ${this.schema}.portal_users (user_id, name, organisation, role, password_hash)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET name = $2, organisation = $3, role = $4, password_hash = $5,
           updated_at = now()`,
        [u.userId, u.name, u.organisation, u.role, await this.hasher.hash(password)],
      );
    }
  }

  /**
   * A person their organisation's identity provider vouched for, as it described them this time (their name
   * and role follow the provider's claims at each sign-in). Never takes over a local account's id.
   */
  async signedOn(user: Actor): Promise<void> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO ${this.schema}.portal_users (user_id, name, organisation, role, password_hash, signed_on_with)
       VALUES ($1, $2, $3, $4, NULL, $3)
       ON CONFLICT (user_id) DO UPDATE SET name = $2, role = $4, updated_at = now()
         WHERE portal_users.signed_on_with = $3`,
      [user.userId, user.name, user.organisation, user.role],
    );
    if (!rowCount) throw new Error(`${user.userId} is a local account, not one of ${user.organisation}'s`);
  }

  /** A signed-on person their provider no longer gives a role: they and their sessions go. */
  async forgetSignedOn(organisation: string, userId: string): Promise<void> {
    await this.pool.query(
      `DELETE FROM ${this.schema}.portal_users WHERE user_id = $1 AND signed_on_with = $2`,
      [userId, organisation],
    );
  }

  /** The user, if the password is theirs. */
  async check(userId: string, password: string): Promise<Actor | null> {
    const { rows } = await this.pool.query(
      `SELECT user_id, name, organisation, role, password_hash FROM ${this.schema}.portal_users
       WHERE user_id = $1`,
      [userId],
    );
    if (!rows.length || !rows[0].password_hash) {
      decoy ??= this.hasher.hash('no user has this password');
      await this.hasher.verify(await decoy, password);
      return null;
    }
    const [u] = rows;
    if (!(await this.hasher.verify(u.password_hash, password))) return null;
    return { userId: u.user_id, name: u.name, organisation: u.organisation, role: u.role as Role };
  }
}
