import { PROVENANCE_BLOCK } from '@app/event-store';
import { EntityManager } from 'typeorm';

/** What a range of one partner's log digests to, as the projection received it. */
export interface Provenance {
  partner: string;
  from: number;
  to: number;
  events: number;
  /** SHA-256 (hex) over the range's block digests: the digest the partner's store computes too (verifyRange). */
  digest: string;
  /** The chain hash of the last event in the range. */
  head: string | null;
}

/**
 * Each block of positions per partner with how many events the projection has taken in it, and the block's
 * digest once computed. The projector counts events into their blocks and clears a block's digest when one
 * arrives there; so composing evidence digests only the blocks that changed since the last time, not the
 * whole history.
 */
export const PROVENANCE_MIGRATION = `
  CREATE INDEX processed_events_position ON {schema}.processed_events (partner, position) INCLUDE (hash);
  CREATE TABLE {schema}.provenance_blocks (
    partner text NOT NULL, block bigint NOT NULL, events int NOT NULL, digest bytea,
    PRIMARY KEY (partner, block));
  INSERT INTO {schema}.provenance_blocks (partner, block, events)
  SELECT partner, position / ${PROVENANCE_BLOCK}, count(*) FROM {schema}.processed_events GROUP BY 1, 2;`;

/** Counts a batch's events into their blocks (one statement), clearing the digests of the blocks they fall in. */
export async function countIntoBlocks(
  em: Pick<EntityManager, 'query'>,
  schema: string,
  events: { partner: string; position: number }[],
): Promise<void> {
  const blocks = new Map<string, { partner: string; block: number; events: number }>();
  for (const e of events) {
    const block = Math.floor(e.position / PROVENANCE_BLOCK);
    const key = `${e.partner}|${block}`;
    const b = blocks.get(key) ?? { partner: e.partner, block, events: 0 };
    b.events++;
    blocks.set(key, b);
  }
  if (blocks.size === 0) return;
  // In a fixed order, so that batches side by side cannot deadlock on these rows.
  const list = [...blocks.values()].sort((a, b) => a.partner.localeCompare(b.partner) || a.block - b.block);
  await em.query(
    `INSERT INTO ${schema}.provenance_blocks AS b (partner, block, events)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[])
     ON CONFLICT (partner, block) DO UPDATE SET events = b.events + excluded.events, digest = NULL`,
    [list.map((b) => b.partner), list.map((b) => b.block), list.map((b) => b.events)],
  );
}

/**
 * The provenance of evidence: for each partner, the positions the read models were built from and their
 * digest. A statutory body's check recomputes the same digest from the partner's own store (verifyRange); if
 * any event behind the evidence was altered, or one is missing here, the two differ. Run in the snapshot the
 * evidence is computed in; `remember` then keeps the blocks it had to digest, outside that snapshot.
 */
export async function provenanceOf(
  db: Pick<EntityManager, 'query'>,
  schema: string,
): Promise<{ provenance: Provenance[]; remember(into: Pick<EntityManager, 'query'>): Promise<void> }> {
  // Blocks whose digest is not kept are digested now (each a short ordered index scan).
  const fresh: { partner: string; block: number; events: number; digest: Buffer }[] = await db.query(
    `SELECT b.partner, b.block, b.events,
            (SELECT sha256(string_agg(decode(coalesce(e.hash, ''), 'hex'), ''::bytea ORDER BY e.position))
               FROM ${schema}.processed_events e
              WHERE e.partner = b.partner AND e.position >= b.block * ${PROVENANCE_BLOCK}
                AND e.position < (b.block + 1) * ${PROVENANCE_BLOCK}) AS digest
       FROM ${schema}.provenance_blocks b WHERE b.digest IS NULL`,
  );
  const rows: Provenance[] = await db.query(
    `WITH b AS (
       SELECT partner, block, coalesce(digest, (SELECT d FROM unnest($1::text[], $2::bigint[], $3::bytea[]) AS f(p, k, d)
                                                 WHERE f.p = partner AND f.k = block)) AS digest
         FROM ${schema}.provenance_blocks WHERE events > 0),
     ends AS (
       SELECT p.partner,
              (SELECT position FROM ${schema}.processed_events e WHERE e.partner = p.partner ORDER BY position LIMIT 1) AS "from",
              (SELECT position FROM ${schema}.processed_events e WHERE e.partner = p.partner ORDER BY position DESC LIMIT 1) AS "to",
              (SELECT hash FROM ${schema}.processed_events e WHERE e.partner = p.partner ORDER BY position DESC LIMIT 1) AS head,
              (SELECT sum(events)::int FROM ${schema}.provenance_blocks x WHERE x.partner = p.partner) AS events
         FROM (SELECT DISTINCT partner FROM b) p)
     SELECT ends.partner, ends."from", ends."to", ends.events, ends.head,
            (SELECT encode(sha256(string_agg(b.digest, ''::bytea ORDER BY b.block)), 'hex') FROM b WHERE b.partner = ends.partner) AS digest
       FROM ends ORDER BY ends.partner`,
    [fresh.map((f) => f.partner), fresh.map((f) => f.block), fresh.map((f) => f.digest)],
  );
  return {
    // bigint arrives as text from the driver; positions stay far below 2^53.
    provenance: rows.map((r) => ({ ...r, from: Number(r.from), to: Number(r.to) })),
    async remember(into) {
      if (!fresh.length) return;
      // Kept only if no event has arrived in the block since (its count is what it was).
      await into.query(
        `UPDATE ${schema}.provenance_blocks b SET digest = f.d
           FROM unnest($1::text[], $2::bigint[], $3::int[], $4::bytea[]) AS f(p, k, n, d)
          WHERE b.partner = f.p AND b.block = f.k AND b.events = f.n AND b.digest IS NULL`,
        [
          fresh.map((f) => f.partner),
          fresh.map((f) => f.block),
          fresh.map((f) => f.events),
          fresh.map((f) => f.digest),
        ],
      );
    },
  };
}
