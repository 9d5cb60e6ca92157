import { createHash } from 'node:crypto';
import { Consortium } from '@app/consortium';
import { ConsentRecord } from '@app/domain';
import { Clock, sharesOneSession } from '@app/platform';
import { KeyStore } from '@app/privacy';
import { Pool } from 'pg';
import { DataSource, In } from 'typeorm';
import { ConsentView } from './read-models';

export interface ProjectionRuntime {
  consortium: Consortium;
  dataSource: DataSource;
  /** The consortium key service: asked for a person's key only when a consented read is served. */
  keys: KeyStore;
  clock: Clock;
}

export const PROJECTION_RUNTIME = Symbol('PROJECTION_RUNTIME');

/**
 * A read query as a named statement, parsed and planned once per connection: the views' queries are big
 * (several aggregates) and planning them took as long as running them. The name is the text's digest, so a
 * query built in several shapes (an inbox with or without a cursor) is a statement per shape. Where
 * connections share one session (the embedded database), names would collide, so the query goes unnamed.
 */
export async function readQuery<R>(
  runtime: ProjectionRuntime,
  text: string,
  values: unknown[],
): Promise<R[]> {
  const pool = (runtime.dataSource.driver as unknown as { master: Pool }).master;
  const names = statementNames.get(pool) ?? new Map<string, string | null>();
  statementNames.set(pool, names);
  let name = names.get(text);
  if (name === undefined) {
    name = sharesOneSession(pool)
      ? null
      : `read-${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`;
    names.set(text, name);
  }
  const { rows } = await pool.query({ name: name ?? undefined, text, values });
  return rows as R[];
}

/** Each pool's query texts and their statement names, worked out once (null: unnamed); a few shapes per schema. */
const statementNames = new WeakMap<Pool, Map<string, string | null>>();

export async function consentsOf(runtime: ProjectionRuntime, personRef: string): Promise<ConsentRecord[]> {
  return (await consentsOfMany(runtime, [personRef])).get(personRef) ?? [];
}

/** Several people's consents in one query: a page of an inbox asks once, not once per referral. */
export async function consentsOfMany(
  runtime: ProjectionRuntime,
  personRefs: string[],
): Promise<Map<string, ConsentRecord[]>> {
  const byPerson = new Map<string, ConsentRecord[]>(personRefs.map((r) => [r, []]));
  if (personRefs.length === 0) return byPerson;
  const rows = await runtime.dataSource
    .getRepository(ConsentView)
    .findBy({ personRef: In([...new Set(personRefs)]) });
  for (const c of rows) byPerson.get(c.personRef)?.push(consentRecordOf(c));
  return byPerson;
}

/** A consent as the read model holds it, as the domain's rule reads it. */
export function consentRecordOf(c: ConsentView): ConsentRecord {
  return {
    consentId: c.consentId,
    partners: c.partners,
    purposes: c.purposes,
    validFrom: c.validFrom.toISOString(),
    validUntil: c.validUntil?.toISOString() ?? null,
    withdrawnAt: c.withdrawnAt?.toISOString() ?? null,
  };
}
