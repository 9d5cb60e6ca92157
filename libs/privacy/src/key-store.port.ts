import { RecordKind } from './personal-data';

/**
 * The consortium key service: the data keys that seal people's personal fields. Destroying a key makes every
 * copy of what it sealed unreadable (crypto-shredding): the event stores, Kafka, the read models and the packs.
 */
export interface KeyStore {
  /** Registers a person, so that keys can be made for them. */
  addPerson(personRef: string): Promise<void>;
  /**
   * The key with this id (see keyId), made on first use for a registered person. Throws PersonErasedError for
   * an erased person, UnknownPersonError for a reference nobody registered, RetentionEndedError for a key
   * whose retention period has ended.
   */
  keyFor(kid: string): Promise<Buffer>;
  /** The keys with these ids: null for one destroyed or never made. Never makes a key. */
  findKeys(kids: Iterable<string>): Promise<Map<string, Buffer | null>>;
  /** Whether a person was erased, and the keys of theirs with these ids (as findKeys), in one call: what a reader needs. */
  personKeys(
    personRef: string,
    kids: Iterable<string>,
  ): Promise<{ erased: boolean; keys: Map<string, Buffer | null> }>;
  /**
   * Erasure: every key of the person and their match keys are destroyed; the person's row stays as a
   * tombstone, so that no new key is ever made for them.
   */
  erasePerson(personRef: string, reason: string, by: string): Promise<void>;
  isErased(personRef: string): Promise<boolean>;
  /** Retention: destroys the keys of a kind for every period before `periodBefore` (a year); returns their ids. */
  expireKeys(kind: RecordKind, periodBefore: string, reason: string): Promise<string[]>;
  /**
   * The match index, kept here (never in an event) so that erasure removes it with the keys: the keyed hash
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

export class UnknownPersonError extends Error {
  constructor(readonly personRef: string) {
    super(`${personRef} is not a person registered in this consortium`);
    this.name = 'UnknownPersonError';
  }
}

export class RetentionEndedError extends Error {
  constructor(readonly kid: string) {
    super(`the retention period of ${kid} has ended: records of that kind and year can no longer be added`);
    this.name = 'RetentionEndedError';
  }
}
