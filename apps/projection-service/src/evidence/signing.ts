import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  sign,
  verify,
} from 'node:crypto';

/**
 * JSON with object keys sorted at every level: the same document always gives the same bytes, whoever
 * serialises it, so a digest can be recomputed by anyone holding the JSON.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** A new Ed25519 private key, as PKCS #8 PEM (kept in the consortium's secrets). */
export function generateSigningKey(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The public half of a signing key, and its id: the first 16 hex digits of the SHA-256 of the key. */
export function publicKeyOf(privateKeyPem: string): { keyId: string; publicKeyPem: string } {
  const publicKey = createPublicKey(createPrivateKey(privateKeyPem));
  return {
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/** Signs evidence pack digests with the consortium's Ed25519 key. */
export class EvidenceSigner {
  readonly keyId: string;
  readonly publicKeyPem: string;
  private readonly key: KeyObject;

  constructor(privateKeyPem: string) {
    this.key = createPrivateKey(privateKeyPem);
    ({ keyId: this.keyId, publicKeyPem: this.publicKeyPem } = publicKeyOf(privateKeyPem));
  }

  /** The signature (base64) over the digest's hex text. */
  sign(digest: string): string {
    return sign(null, Buffer.from(digest), this.key).toString('base64');
  }
}

/** Whether a signature over a digest was made with the private half of this public key. */
export function signatureHolds(publicKeyPem: string, digest: string, signature: string): boolean {
  try {
    return verify(null, Buffer.from(digest), createPublicKey(publicKeyPem), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
