import { Consortium } from '@app/consortium';
import { KeyStore, RecordKind } from '@app/privacy';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JourneyEntry } from '../shared/read-models';

export interface SweepResult {
  /** Keys destroyed because their kind's retention period ended, by kind. */
  expiredKeys: Record<string, number>;
  /** People whose identity was erased because their last activity is older than the identity retention. */
  erasedPeople: string[];
}

/**
 * Retention, enforced the way erasure is: by destroying keys. Records of a kind stay readable for the
 * consortium file's number of years after the year they are about; a person's identity for its number of years
 * after their last recorded activity anywhere in the consortium. Counts and costs stay, as after erasure.
 */
export async function sweepRetention(
  consortium: Consortium,
  keys: KeyStore,
  dataSource: DataSource,
  now: Date,
): Promise<SweepResult> {
  const year = now.getUTCFullYear();
  const expiredKeys: Record<string, number> = {};
  for (const [kind, years] of Object.entries(consortium.retention.recordYears)) {
    const before = String(year - years); // a record of year Y is kept to the end of Y + years
    const expired = await keys.expireKeys(kind as RecordKind, before, `retention of ${kind}: ${years} years`);
    expiredKeys[kind] = expired.length;
  }
  const cutoff = new Date(now);
  cutoff.setUTCFullYear(year - consortium.retention.identityYearsAfterLastActivity);
  const idle: { person_ref: string }[] = await dataSource
    .getRepository(JourneyEntry)
    .createQueryBuilder('e')
    .select('e.person_ref', 'person_ref')
    .groupBy('e.person_ref')
    .having('max(e.occurred_at) < :cutoff', { cutoff })
    .getRawMany();
  const erasedPeople: string[] = [];
  for (const { person_ref } of idle) {
    if (await keys.isErased(person_ref)) continue;
    await keys.erasePerson(person_ref, 'retention-ended', 'retention sweep');
    erasedPeople.push(person_ref);
  }
  return { expiredKeys, erasedPeople };
}

/** Runs the sweep once a day while the projection service runs. */
export function scheduleRetention(
  run: () => Promise<SweepResult>,
  everyMs = 24 * 60 * 60 * 1000,
): () => void {
  const log = new Logger('retention');
  const tick = () =>
    run().then(
      (r) =>
        log.log(
          `retention sweep: ${JSON.stringify(r.expiredKeys)} keys expired, ${r.erasedPeople.length} people erased`,
        ),
      (e: Error) => log.warn(`retention sweep failed, will try again: ${e.message}`),
    );
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
