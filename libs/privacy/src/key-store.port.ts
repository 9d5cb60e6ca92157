/**
 * Where each person's data key lives. Destroying one key makes every copy of that person's personal fields
 * unreadable (crypto-shredding): the event stores, Kafka, the read models and the packs.
 */
export interface KeyStore {
  /** The person's key, made on first use. Throws PersonErasedError once the key was destroyed. */
  keyFor(personRef: string): Promise<Buffer>;
  /** The key, or null when the person was erased or never had one. Never makes a key. */
  findKey(personRef: string): Promise<Buffer | null>;
  /**
   * Crypto-shredding: the key and the person's match keys are destroyed; a tombstone stays so that no new
   * key is ever made for them.
   */
  destroyKey(personRef: string, reason: string, by: string): Promise<void>;
  isErased(personRef: string): Promise<boolean>;
  /**
   * The match index, kept here (not in any event) so that erasure removes it with the key: the keyed hash
   * of a person's identifiers, for finding them when they walk in at another door.
   */
  recordMatchKey(personRef: string, matchKey: string): Promise<void>;
  /** The people (not erased) whose identifiers hash to this match key. */
  findByMatchKey(matchKey: string): Promise<string[]>;
  close(): Promise<void>;
}

export class PersonErasedError extends Error {
  constructor(readonly personRef: string) {
    super(`${personRef} was erased at their request: nothing more can be recorded about them`);
    this.name = 'PersonErasedError';
  }
}
