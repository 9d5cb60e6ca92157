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
  return openAll(value, personRef, await keys.findKeys(keyIdsOf(personRef, value)));
}

/** openFor, and whether the person was erased, in the same one call to the key service. */
export async function openForReader<T>(
  keys: KeyStore,
  personRef: string,
  value: T,
): Promise<{ value: T; erased: boolean }> {
  const found = await keys.personKeys(personRef, keyIdsOf(personRef, value));
  return { value: openAll(value, personRef, found.keys), erased: found.erased };
}

const keyIdsOf = (personRef: string, value: unknown) =>
  [...keyIdsIn(value)].filter((k) => k.startsWith(`${personRef}/`));
