import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * A personal field as it is stored and published: AES-256-GCM under the person's own key, bound to the
 * person's reference (as additional authenticated data) so a sealed value cannot be moved to another person.
 */
export interface Sealed {
  sealed: 'aes-256-gcm';
  iv: string;
  tag: string;
  ct: string;
}

export function isSealed(v: unknown): v is Sealed {
  return typeof v === 'object' && v !== null && (v as Sealed).sealed === 'aes-256-gcm';
}

export function seal(key: Buffer, personRef: string, value: unknown): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(personRef));
  const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return {
    sealed: 'aes-256-gcm',
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ct: ct.toString('base64'),
  };
}

export function open<T = unknown>(key: Buffer, personRef: string, sealed: Sealed): T {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
  decipher.setAAD(Buffer.from(personRef));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  const pt = Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()]);
  return JSON.parse(pt.toString('utf8')) as T;
}

/** What a reader sees where a person's data was erased: the shape stays, the content is gone. */
export const ERASED = Object.freeze({ erased: true as const });
export type Erased = typeof ERASED;

/**
 * Opens every sealed field of a value (deeply) with the person's key; with no key (erased), each sealed
 * field reads as ERASED. Fields that were never personal pass through unchanged.
 */
export function openAll<T>(value: T, personRef: string, key: Buffer | null): T {
  if (isSealed(value)) return (key ? open(key, personRef, value) : ERASED) as T;
  if (Array.isArray(value)) return value.map((v) => openAll(v, personRef, key)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, openAll(v, personRef, key)])) as T;
  }
  return value;
}

/**
 * Matching a person who walks in at another door: a keyed hash (HMAC-SHA-256 under the consortium's
 * matching secret) of normalised identifiers. The identifiers themselves never cross organisations.
 */
export function matchKey(secret: Buffer, identifiers: { name: string; dateOfBirth: string }): string {
  const normalised = `${identifiers.name.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim()}|${identifiers.dateOfBirth}`;
  return createHmac('sha256', secret).update(normalised).digest('base64url');
}
