import { createHash } from 'node:crypto';

/**
 * The chain hash of an event, computed here over exactly the bytes the store's SQL function `event_hash` hashes:
 *
 *   sha256(prev || utf8(jsonb_build_array(event_id, event_type, schema_version, data, metadata)::text))
 *
 * PostgreSQL prints jsonb in one canonical way: object keys shorter first, then by their UTF-8 bytes; ", " and
 * ": " between items; numbers as numeric prints them, never with an exponent; strings escaped as JSON.stringify
 * escapes them. `canonicalJson` writes a value that way, and the store sends that text as the event's data and
 * metadata, so the database stores the same jsonb as from JSON.stringify's text and prints exactly what was
 * hashed. Hashing in the application spares the database the jsonb-to-text conversion on every append; the
 * definition is unchanged, so events recorded either way chain onto each other and `verifyRange` (which
 * recomputes in SQL) checks both alike.
 *
 * Returns null when the id is not a UUID in its usual form (or data is missing): the caller lets the database
 * hash such an event, or refuse it.
 */
export function eventHash(prev: Buffer, event: SentEvent): Buffer | null {
  if (event.data === undefined || event.metadata === undefined) return null;
  if (!UUID.test(event.id) || !Number.isInteger(event.schemaVersion)) return null;
  const text = `["${event.id.toLowerCase()}", ${JSON.stringify(event.type)}, ${event.schemaVersion}, ${event.data}, ${event.metadata}]`;
  return createHash('sha256').update(prev).update(text, 'utf8').digest();
}

/** An event as it is sent to the database: data and metadata as canonical JSON text (`canonicalJson`). */
export interface SentEvent {
  id: string;
  type: string;
  schemaVersion: number;
  data: string | undefined;
  metadata: string | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A value as JSON.stringify would send it (toJSON applied; undefined, functions and symbols left out of
 * objects and null in arrays; non-finite numbers null), written as jsonb prints it. Undefined where
 * JSON.stringify gives undefined.
 */
export function canonicalJson(value: unknown): string | undefined {
  return write(value, '');
}

function write(value: unknown, key: string): string | undefined {
  let v = value;
  if ((typeof v === 'object' && v !== null) || typeof v === 'bigint') {
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') v = toJSON.call(v, key);
  }
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? numericText(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    case 'object': {
      if (v instanceof Number || v instanceof String || v instanceof Boolean) return write(v.valueOf(), key);
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) out += (i ? ', ' : '') + (write(v[i], String(i)) ?? 'null');
        return `${out}]`;
      }
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length > 1) keys.sort(keys.every(isAscii) ? asciiKeyOrder : jsonbKeyOrder);
      let out = '{';
      for (const k of keys) {
        const item = write(o[k], k);
        if (item !== undefined) out += `${out.length > 1 ? ', ' : ''}${JSON.stringify(k)}: ${item}`;
      }
      return `${out}}`;
    }
    default:
      return undefined;
  }
}

function isAscii(k: string): boolean {
  for (let i = 0; i < k.length; i++) if (k.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** jsonb orders an object's keys by length in UTF-8 bytes, then byte by byte. */
function jsonbKeyOrder(a: string, b: string): number {
  const la = Buffer.byteLength(a);
  const lb = Buffer.byteLength(b);
  if (la !== lb) return la - lb;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The same order where every key is ASCII: one byte a character, so the strings compare as they are. */
function asciiKeyOrder(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * A JSON number as jsonb's numeric prints it: JavaScript writes 1e21 and 1e-7 with an exponent, numeric writes
 * every digit (1000000000000000000000, 0.0000001). Without an exponent the two agree.
 */
function numericText(n: number): string {
  const s = String(n);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const negative = s.startsWith('-');
  const mantissa = s.slice(negative ? 1 : 0, e);
  const exponent = Number(s.slice(e + 1));
  const point = mantissa.indexOf('.');
  const digits = point < 0 ? mantissa : mantissa.slice(0, point) + mantissa.slice(point + 1);
  const at = (point < 0 ? mantissa.length : point) + exponent;
  const plain =
    at <= 0
      ? `0.${'0'.repeat(-at)}${digits}`
      : at >= digits.length
        ? digits + '0'.repeat(at - digits.length)
        : `${digits.slice(0, at)}.${digits.slice(at)}`;
  return negative ? `-${plain}` : plain;
}
