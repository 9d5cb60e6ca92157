/** The portal's own tables: who may sign in, and who is signed in. Personal data of the people supported is never here. */
export const PORTAL_MIGRATIONS = [
  `CREATE TABLE {schema}.portal_users (
     user_id text PRIMARY KEY,
     name text NOT NULL,
     organisation text NOT NULL,
     role text NOT NULL,
     password_hash text NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now())`,
  // The session id itself is only ever in the user's cookie: a copy of this table opens no session.
  `CREATE TABLE {schema}.portal_sessions (
     id_hash text PRIMARY KEY,
     user_id text NOT NULL REFERENCES {schema}.portal_users (user_id) ON DELETE CASCADE,
     csrf_token text NOT NULL,
     flash text,
     created_at timestamptz NOT NULL DEFAULT now(),
     expires_at timestamptz NOT NULL);
   CREATE INDEX portal_sessions_expiry ON {schema}.portal_sessions (expires_at)`,
];
