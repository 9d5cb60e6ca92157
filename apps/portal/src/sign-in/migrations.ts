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
  // Single sign-on (ADR 0009): a signed-on user has no password here, only the organisation that vouched for
  // them; their session keeps the ID token as the hint for signing out at the provider. A sign-in in progress
  // keeps its nonce and PKCE verifier here, found by a hash of its state and bound to the browser's token.
  `ALTER TABLE {schema}.portal_users ALTER COLUMN password_hash DROP NOT NULL;
   ALTER TABLE {schema}.portal_users ADD COLUMN signed_on_with text;
   ALTER TABLE {schema}.portal_sessions ADD COLUMN signed_on_with text, ADD COLUMN id_token text;
   CREATE TABLE {schema}.portal_sign_on_requests (
     state_hash text PRIMARY KEY,
     browser_hash text NOT NULL,
     organisation text NOT NULL,
     nonce text NOT NULL,
     code_verifier text NOT NULL,
     expires_at timestamptz NOT NULL)`,
  // Failed password sign-ins per user name and per client address (hashed), shared by every instance.
  `CREATE TABLE {schema}.portal_sign_in_failures (
     key text PRIMARY KEY,
     failures int NOT NULL,
     window_started timestamptz NOT NULL)`,
];
