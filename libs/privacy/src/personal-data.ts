import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * The kinds of personal record, each sealed under keys of its own so that each can have its own retention
 * period (set in the consortium file): destroying the keys of one kind and year shreds just those records.
 */
export const RECORD_KINDS = [
  'identity', // name, date of birth, contact details: one key for the person's whole time with us
  'what-matters',
  'contact-notes',
  'referral-reasons',
  'life-system',
  'reflections',
  'outcomes',
  'wellbeing',
] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

/**
 * A key's id: the person, the kind of record, and the period (the calendar year the record is about; the
 * identity key has the one period `all`). Erasing a person destroys every key whose id starts with them.
 */
export function keyId(personRef: string, kind: RecordKind, at: string): string {
  return `${personRef}/${kind}/${kind === 'identity' ? 'all' : at.slice(0, 4)}`;
}

export function parseKeyId(kid: string): { personRef: string; kind: RecordKind; period: string } {
  const [personRef, kind, period] = kid.split('/');
  if (!personRef || !RECORD_KINDS.includes(kind as RecordKind) || !period)
    throw new Error(`"${kid}" is not a key id`);
  return { personRef, kind: kind as RecordKind, period };
}

/**
 * A personal field as it is stored and published: AES-256-GCM under the key `kid`, with the key id as
 * additional authenticated data, so a sealed value cannot be passed off as another person's or another kind.
 */
export interface Sealed {
  sealed: 'aes-256-gcm';
  kid: string;
  iv: string;
  tag: string;
  ct: string;
}

export function isSealed(v: unknown): v is Sealed {
  return typeof v === 'object' && v !== null && (v as Sealed).sealed === 'aes-256-gcm';
}

export function seal(key: Buffer, kid: string, value: unknown): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(kid));
  const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return {
    sealed: 'aes-256-gcm',
    kid,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ct: ct.toString('base64'),
  };
}

export function open<T = unknown>(key: Buffer, sealed: Sealed): T {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
  decipher.setAAD(Buffer.from(sealed.kid));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  const pt = Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()]);
  return JSON.parse(pt.toString('utf8')) as T;
}

/** What a reader sees where personal data was erased or its retention ended: the shape stays, the content is gone. */
export const ERASED = Object.freeze({ erased: true as const });
export type Erased = typeof ERASED;

/** Every key id sealed anywhere inside a value. */
export function keyIdsIn(value: unknown, into = new Set<string>()): Set<string> {
  if (isSealed(value)) into.add(value.kid);
  else if (Array.isArray(value)) for (const v of value) keyIdsIn(v, into);
  else if (typeof value === 'object' && value !== null)
    for (const v of Object.values(value)) keyIdsIn(v, into);
  return into;
}

/**
 * Opens every sealed field of a value (deeply) that belongs to `personRef`, with the keys given; a field
 * whose key is gone (erased, or past retention) reads as ERASED, and so does one sealed for anyone else.
 */
export function openAll<T>(value: T, personRef: string, keys: ReadonlyMap<string, Buffer | null>): T {
  if (isSealed(value)) {
    const key = value.kid.startsWith(`${personRef}/`) ? keys.get(value.kid) : null;
    return (key ? open(key, value) : ERASED) as T;
  }
  if (Array.isArray(value)) return value.map((v) => openAll(v, personRef, keys)) as T;
  // A date is a value, not a record to walk: rebuilt field by field it would become {}.
  if (value instanceof Date) return value;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, openAll(v, personRef, keys)])) as T;
  }
  return value;
}

/**
 * Matching a person who walks in at another door: a keyed hash (HMAC-SHA-256 under the consortium's
 * matching secret) of normalised identifiers. The identifiers themselves never cross organisations.
 */
export function matchKey(secret: Buffer, identifiers: { name: string; dateOfBirth: string }): string {
  const name = identifiers.name.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
  return createHmac('sha256', secret).update(`${name}|${identifiers.dateOfBirth}`).digest('base64url');
}
