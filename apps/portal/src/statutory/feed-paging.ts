import { NotFoundException } from '@nestjs/common';
import { Posted, text } from '../shared/forms';

/** Entries of the feed on one page, and deliveries of the webhook. */
export const FEED_PAGE = 10;
export const DELIVERY_PAGE = 5;

/** The start of the feed, in the trail of pages read before this one. */
const START = '-';
const CURSOR = /^[A-Za-z0-9_-]{1,200}$/;
/** How many earlier pages "Previous" remembers; beyond that it goes back to the start. */
const TRAIL_MAX = 30;

/**
 * Where the feed page is: the service's cursor to read after (none for the start), the cursors of the pages
 * before it (the service's feed only reads forward, so "Previous" walks back along this trail), and which page
 * of deliveries is shown. Anything that is not a cursor the service could have given is a page not found.
 */
export interface FeedPlace {
  after: string;
  trail: string[];
  deliveries: number;
}

export function feedPlace(query: Posted): FeedPlace {
  const after = text(query, 'after');
  const trail = text(query, 'trail') ? text(query, 'trail').split('.') : [];
  const deliveries = text(query, 'deliveries') ? Number(text(query, 'deliveries')) : 1;
  if ((after && !CURSOR.test(after)) || trail.some((c) => c !== START && !CURSOR.test(c)))
    throw new NotFoundException();
  if (!Number.isInteger(deliveries) || deliveries < 1 || deliveries > 1000) throw new NotFoundException();
  return { after, trail: trail.slice(-TRAIL_MAX), deliveries };
}

function feedUrl(place: FeedPlace): string {
  const q = new URLSearchParams();
  if (place.after) q.set('after', place.after);
  if (place.trail.length) q.set('trail', place.trail.join('.'));
  if (place.deliveries > 1) q.set('deliveries', String(place.deliveries));
  const s = q.toString();
  return `/statutory/feed${s ? `?${s}` : ''}`;
}

export interface Pager {
  previous: string | null;
  next: string | null;
}

/** Previous and next for the feed: `next` is the cursor after the page's last entry, if more may follow. */
export function feedPager(place: FeedPlace, next: string | null): Pager {
  const back = place.trail.at(-1);
  return {
    previous: place.after
      ? feedUrl({ ...place, after: back === START || !back ? '' : back, trail: place.trail.slice(0, -1) })
      : null,
    next: next ? feedUrl({ ...place, after: next, trail: [...place.trail, place.after || START] }) : null,
  };
}

/** Previous and next for the deliveries, keeping the feed where it is. */
export function deliveryPager(place: FeedPlace, total: number): Pager {
  const page = place.deliveries;
  return {
    previous: page > 1 ? feedUrl({ ...place, deliveries: page - 1 }) : null,
    next: page * DELIVERY_PAGE < total ? feedUrl({ ...place, deliveries: page + 1 }) : null,
  };
}
