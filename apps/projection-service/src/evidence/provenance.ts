import { EntityManager } from 'typeorm';

/** What a range of one partner's log digests to, as the projection received it. */
export interface Provenance {
  partner: string;
  from: number;
  to: number;
  events: number;
  /** SHA-256 (hex) over the events' chain hashes in position order: the digest the partner's store computes too. */
  digest: string;
  /** The chain hash of the last event in the range. */
  head: string | null;
}

/**
 * The provenance of evidence: for each partner, the positions the read models were built from and their
 * digest. A statutory body's check recomputes the same digest from the partner's own store (verifyRange); if
 * any event behind the evidence was altered, or one is missing here, the two differ. Computed by the database
 * in one pass, so a place with millions of events digests in a fraction of a second.
 */
export async function provenanceOf(db: Pick<EntityManager, 'query'>, schema: string): Promise<Provenance[]> {
  const rows: Provenance[] = await db.query(
    `SELECT partner, min(position)::bigint AS "from", max(position)::bigint AS "to", count(*)::int AS events,
            encode(sha256(string_agg(decode(coalesce(hash, ''), 'hex'), ''::bytea ORDER BY position)), 'hex') AS digest,
            (array_agg(hash ORDER BY position DESC))[1] AS head
       FROM ${schema}.processed_events GROUP BY partner ORDER BY partner`,
  );
  // bigint arrives as text from the driver; positions stay far below 2^53.
  return rows.map((r) => ({ ...r, from: Number(r.from), to: Number(r.to) }));
}
