import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';

/** What a range of one partner's log digests to, as the projection received it. */
export interface Provenance {
  partner: string;
  from: number;
  to: number;
  events: number;
  /** SHA-256 (hex) over the events' chain hashes in position order: the digest the partner's store computes too. */
  digest: string;
}

/**
 * The provenance of evidence: for each partner, the positions the read models were built from and their
 * digest. A statutory body's check recomputes the same digest from the partner's own store (verifyRange); if
 * any event behind the evidence was altered, or one is missing here, the two differ.
 */
export async function provenanceOf(
  dataSource: DataSource,
  schema: string,
  upTo?: Record<string, number>,
): Promise<Provenance[]> {
  const rows: { partner: string; position: number; hash: string | null }[] = await dataSource.query(
    `SELECT partner, position, hash FROM ${schema}.processed_events ORDER BY partner, position`,
  );
  const byPartner = new Map<string, { position: number; hash: string | null }[]>();
  for (const r of rows) {
    if (upTo && upTo[r.partner] !== undefined && r.position > upTo[r.partner]) continue;
    const list = byPartner.get(r.partner) ?? [];
    list.push(r);
    byPartner.set(r.partner, list);
  }
  return [...byPartner].map(([partner, events]) => {
    const sha = createHash('sha256');
    for (const e of events) sha.update(Buffer.from(e.hash ?? '', 'hex'));
    return {
      partner,
      from: events[0].position,
      to: events[events.length - 1].position,
      events: events.length,
      digest: sha.digest('hex'),
    };
  });
}
