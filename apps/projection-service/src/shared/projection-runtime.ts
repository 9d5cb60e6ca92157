import { Consortium } from '@app/consortium';
import { ConsentRecord } from '@app/domain';
import { Clock } from '@app/platform';
import { KeyStore } from '@app/privacy';
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
