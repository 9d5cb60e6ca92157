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
 * digest once computed. The projector counts events into their blocks; composing evidence digests only the
 * blocks whose count moved since their digest was kept, not the whole history.
 */
export const PROVENANCE_MIGRATION = `
  CREATE INDEX processed_events_position ON {schema}.processed_events (partner, position) INCLUDE (hash);
  CREATE TABLE {schema}.provenance_blocks (
    partner text NOT NULL, block bigint NOT NULL, events int NOT NULL, digest bytea,
    PRIMARY KEY (partner, block));
  INSERT INTO {schema}.provenance_blocks (partner, block, events)
  SELECT partner, position / ${PROVENANCE_BLOCK}, count(*) FROM {schema}.processed_events GROUP BY 1, 2;`;

/**
 * Counts are kept per Kafka partition (slot) as well, and digests apart from them with the count they were
 * made at. Every batch counts into its partner's newest block, so with one row per block the batches of
 * partitions taken side by side queued on that row, one commit after another. A block's count only grows
 * (an event is counted once, when it is first applied), so a digest made at the count the block still has
 * is the digest of the same events.
 */
export const PROVENANCE_SLOTS_MIGRATION = `
  CREATE TABLE {schema}.provenance_digests (
    partner text NOT NULL, block bigint NOT NULL, events int NOT NULL, digest bytea NOT NULL,
    PRIMARY KEY (partner, block));
  INSERT INTO {schema}.provenance_digests (partner, block, events, digest)
  SELECT partner, block, events, digest FROM {schema}.provenance_blocks WHERE digest IS NOT NULL;
  ALTER TABLE {schema}.provenance_blocks DROP COLUMN digest, ADD COLUMN slot int NOT NULL DEFAULT 0;
  ALTER TABLE {schema}.provenance_blocks DROP CONSTRAINT provenance_blocks_pkey, ADD PRIMARY KEY (partner, block, slot);`;

/** Counts a batch's events into their blocks, per slot, in one statement. */
export async function countIntoBlocks(
  em: Pick<EntityManager, 'query'>,
  schema: string,
  events: { partner: string; position: number; slot: number }[],
): Promise<void> {
  const blocks = new Map<string, { partner: string; block: number; slot: number; events: number }>();
  for (const e of events) {
    const block = Math.floor(e.position / PROVENANCE_BLOCK);
    const key = `${e.partner}|${block}|${e.slot}`;
    const b = blocks.get(key) ?? { partner: e.partner, block, slot: e.slot, events: 0 };
    b.events++;
    blocks.set(key, b);
  }
  if (blocks.size === 0) return;
  // In a fixed order, so that batches side by side cannot deadlock on these rows.
  const list = [...blocks.values()].sort(
    (a, b) => a.partner.localeCompare(b.partner) || a.block - b.block || a.slot - b.slot,
  );
  await em.query(
    `INSERT INTO ${schema}.provenance_blocks AS b (partner, block, slot, events)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $4::int[])
     ON CONFLICT (partner, block, slot) DO UPDATE SET events = b.events + excluded.events`,
    [
      list.map((b) => b.partner),
      list.map((b) => b.block),
      list.map((b) => b.slot),
      list.map((b) => b.events),
    ],
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
  const counts = `SELECT partner, block, sum(events)::int AS events FROM ${schema}.provenance_blocks GROUP BY 1, 2`;
  // Blocks with no digest kept at their count are digested now (each a short ordered index scan).
  const fresh: { partner: string; block: number; events: number; digest: Buffer }[] = await db.query(
    `SELECT b.partner, b.block, b.events,
            (SELECT sha256(string_agg(decode(coalesce(e.hash, ''), 'hex'), ''::bytea ORDER BY e.position))
               FROM ${schema}.processed_events e
              WHERE e.partner = b.partner AND e.position >= b.block * ${PROVENANCE_BLOCK}
                AND e.position < (b.block + 1) * ${PROVENANCE_BLOCK}) AS digest
       FROM (${counts}) b
       LEFT JOIN ${schema}.provenance_digests d ON d.partner = b.partner AND d.block = b.block AND d.events = b.events
      WHERE b.events > 0 AND d.digest IS NULL`,
  );
  const rows: Provenance[] = await db.query(
    `WITH counts AS (${counts}),
     b AS (
       SELECT c.partner, c.block,
              coalesce(d.digest, (SELECT f.d FROM unnest($1::text[], $2::bigint[], $3::bytea[]) AS f(p, k, d)
                                   WHERE f.p = c.partner AND f.k = c.block)) AS digest
         FROM counts c
         LEFT JOIN ${schema}.provenance_digests d ON d.partner = c.partner AND d.block = c.block AND d.events = c.events
        WHERE c.events > 0),
     ends AS (
       SELECT p.partner,
              (SELECT position FROM ${schema}.processed_events e WHERE e.partner = p.partner ORDER BY position LIMIT 1) AS "from",
              (SELECT position FROM ${schema}.processed_events e WHERE e.partner = p.partner ORDER BY position DESC LIMIT 1) AS "to",
              (SELECT hash FROM ${schema}.processed_events e WHERE e.partner = p.partner ORDER BY position DESC LIMIT 1) AS head,
              (SELECT sum(events)::int FROM counts x WHERE x.partner = p.partner) AS events
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
      // Kept with the count it was made at; never in place of one made at a later count.
      await into.query(
        `INSERT INTO ${schema}.provenance_digests AS d (partner, block, events, digest)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $4::bytea[])
         ON CONFLICT (partner, block) DO UPDATE SET events = excluded.events, digest = excluded.digest
          WHERE d.events < excluded.events`,
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
