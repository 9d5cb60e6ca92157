import argon2 from 'argon2';

/** Hashing of users' passwords: a small port, so that another scheme could stand in without the callers knowing. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

/** Argon2id with the library's defaults (64 MiB, 3 passes, 4 lanes), as OWASP recommends for new systems. */
export class Argon2Hasher implements PasswordHasher {
  hash(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id });
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false; // a malformed stored hash matches nothing
    }
  }
}
