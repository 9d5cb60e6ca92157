import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Consortium } from '@app/consortium';
import { TokenKeys } from '@app/platform';
import { generateSigningKey } from '../../projection-service/src/evidence/signing';

/**
 * The consortium's secrets: a token signing key per organisation, the secret of the matching hash, and the
 * Ed25519 key that signs evidence packs (PKCS #8 PEM). Without a signing key a run signs with a key of its own
 * that dies with it: fine for a test, never for a consortium whose packs must verify next year.
 */
export interface Secrets {
  tokenKeys: Record<string, string>;
  matchingSecret: string;
  evidenceSigningKey?: string;
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
  if (missing.length || !existsSync(file) || !existing.evidenceSigningKey) {
    existing.tokenKeys = { ...existing.tokenKeys, ...TokenKeys.generate(missing) };
    existing.evidenceSigningKey ??= generateSigningKey();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(existing, null, 2), { mode: 0o600 });
  }
  return existing;
}

/**
 * Secrets from the environment, for services run apart (HLS_TOKEN_KEYS as JSON, HLS_MATCHING_SECRET,
 * HLS_EVIDENCE_SIGNING_KEY as PEM or base64 of PEM).
 */
export function secretsFromEnv(env = process.env): Secrets | null {
  if (!env.HLS_TOKEN_KEYS || !env.HLS_MATCHING_SECRET) return null;
  return {
    tokenKeys: JSON.parse(env.HLS_TOKEN_KEYS),
    matchingSecret: env.HLS_MATCHING_SECRET,
    evidenceSigningKey: signingKeyFrom(env.HLS_EVIDENCE_SIGNING_KEY),
  };
}

/** A PEM key given in an environment variable, where newlines are awkward: as PEM, or base64 of the PEM. */
export function signingKeyFrom(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  return raw.includes('BEGIN') ? raw.replace(/\\n/g, '\n') : Buffer.from(raw, 'base64').toString('utf8');
}
