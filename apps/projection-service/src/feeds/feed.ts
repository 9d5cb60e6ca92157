import { EvidencePackEvent } from '@app/domain';
import { checkpointOf, EventStore, LOG_START, LogCheckpoint } from '@app/event-store';
import { EvidencePacks } from '../evidence/evidence-packs';

/** One entry of a statutory body's feed: a pack published to it, with where to fetch and check it. */
export interface FeedEntry {
  cursor: string;
  packId: string;
  body: string;
  period: { from: string; to: string };
  publishedAt: string;
  digest: string;
  signature: string;
  keyId: string;
  links: { json: string; html: string; pdf: string; verification: string };
}

/**
 * A cursor is a place in the consortium's log (transaction, position), opaque to the reader. The log is read in
 * commit-safe order, so a reader that passes back the last cursor it got never misses an entry nor sees one
 * twice, however many instances serve it.
 */
export function encodeCursor(at: LogCheckpoint): string {
  return Buffer.from(`${at.transactionId}.${at.position}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): LogCheckpoint | null {
  if (cursor === undefined || cursor === '') return LOG_START;
  const m = /^(\d{1,20})\.(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString());
  return m ? { transactionId: m[1], position: Number(m[2]) } : null;
}

/** The entries published to `body` after a cursor, at most `limit`, and the cursor to ask from next. */
export async function readFeed(
  store: EventStore,
  packs: EvidencePacks,
  body: string,
  after: LogCheckpoint,
  limit: number,
): Promise<{ entries: FeedEntry[]; next: string }> {
  const entries: FeedEntry[] = [];
  let at = after;
  // Read on until the page is full or the log ends, so a busy log with few entries for this body still pages.
  while (entries.length < limit) {
    const batch = await store.readLog(at, 500);
    if (batch.length === 0) break;
    for (const e of batch) {
      at = checkpointOf(e);
      const event = { type: e.type, data: e.data } as EvidencePackEvent;
      if (event.type !== 'EvidencePackPublished' || event.data.body !== body) continue;
      const doc = await packs.get(event.data.packId);
      if (doc) entries.push(feedEntry(encodeCursor(at), doc.period, event.data));
      if (entries.length === limit) break;
    }
  }
  return { entries, next: encodeCursor(at) };
}

export function feedEntry(
  cursor: string,
  period: { from: string; to: string },
  published: Extract<EvidencePackEvent, { type: 'EvidencePackPublished' }>['data'],
): FeedEntry {
  const path = `/evidence-packs/${published.packId}`;
  return {
    cursor,
    packId: published.packId,
    body: published.body,
    period,
    publishedAt: published.publishedAt,
    digest: published.digest,
    signature: published.signature,
    keyId: published.keyId,
    links: {
      json: path,
      html: `${path}/pack.html`,
      pdf: `${path}/pack.pdf`,
      verification: `${path}/verification`,
    },
  };
}
