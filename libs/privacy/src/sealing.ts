import { KeyStore } from './key-store.port';
import { keyId, keyIdsIn, openAll, RecordKind, Sealed, seal } from './personal-data';

/** Seals one personal field of a person under the key for its kind and year (made on first use). */
export async function sealFor(
  keys: KeyStore,
  personRef: string,
  kind: RecordKind,
  at: string,
  value: unknown,
): Promise<Sealed> {
  const kid = keyId(personRef, kind, at);
  return seal(await keys.keyFor(kid), kid, value);
}

/** Opens every sealed field of a value that belongs to the person, fetching the keys it needs in one call. */
export async function openFor<T>(keys: KeyStore, personRef: string, value: T): Promise<T> {
  const kids = [...keyIdsIn(value)].filter((k) => k.startsWith(`${personRef}/`));
  return openAll(value, personRef, await keys.findKeys(kids));
}
