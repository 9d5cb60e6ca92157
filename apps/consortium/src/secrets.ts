import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Consortium } from '@app/consortium';
import { TokenKeys } from '@app/platform';

/** The consortium's secrets: a token signing key per organisation and the secret of the matching hash. */
export interface Secrets {
  tokenKeys: Record<string, string>;
  matchingSecret: string;
}

export function organisationsOf(c: Consortium): string[] {
  return [...c.partners, ...c.statutoryBodies].map((o) => o.id).concat(`${c.id}-admin`);
}

/**
 * Reads the secrets file, making it (readable by its owner only) on first start. A partner added to the
 * consortium file later gets its key added here.
 */
export function loadSecrets(file: string, consortium: Consortium): Secrets {
  const existing: Secrets = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Secrets)
    : { tokenKeys: {}, matchingSecret: randomBytes(32).toString('base64url') };
  const missing = organisationsOf(consortium).filter((o) => !existing.tokenKeys[o]);
  if (missing.length || !existsSync(file)) {
    existing.tokenKeys = { ...existing.tokenKeys, ...TokenKeys.generate(missing) };
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(existing, null, 2), { mode: 0o600 });
  }
  return existing;
}

/** Secrets from the environment, for services run apart (HLS_TOKEN_KEYS as JSON, HLS_MATCHING_SECRET). */
export function secretsFromEnv(env = process.env): Secrets | null {
  if (!env.HLS_TOKEN_KEYS || !env.HLS_MATCHING_SECRET) return null;
  return { tokenKeys: JSON.parse(env.HLS_TOKEN_KEYS), matchingSecret: env.HLS_MATCHING_SECRET };
}
