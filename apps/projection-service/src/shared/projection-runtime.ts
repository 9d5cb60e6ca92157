import { Consortium } from '@app/consortium';
import { ConsentRecord } from '@app/domain';
import { Clock } from '@app/platform';
import { KeyStore } from '@app/privacy';
import { DataSource } from 'typeorm';
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
  const rows = await runtime.dataSource.getRepository(ConsentView).findBy({ personRef });
  return rows.map((c) => ({
    consentId: c.consentId,
    partners: c.partners,
    purposes: c.purposes,
    validFrom: c.validFrom.toISOString(),
    validUntil: c.validUntil?.toISOString() ?? null,
    withdrawnAt: c.withdrawnAt?.toISOString() ?? null,
  }));
}
