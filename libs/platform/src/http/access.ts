import { Role } from './identity';

/**
 * Who may do what: the one table of access rules. Every route names its action; the guard allows the roles
 * listed here and no others. Scope (whose records) is then checked by the route itself, as the last column
 * says. docs/access.md shows this table; a test checks that the two agree and tries every cell over HTTP.
 */
export const ACCESS_RULES = {
  'person.register': { roles: ['worker'], scope: "records at the worker's own partner" },
  'person.lookup': { roles: ['worker'], scope: 'answers only whether a journey exists, never its content' },
  'person.arrive': {
    roles: ['worker'],
    scope: "own partner; the person's name and date of birth must match",
  },
  'journey.record': { roles: ['worker'], scope: "own partner's records of a person known there" },
  'person.read-record': { roles: ['worker', 'steward'], scope: "own partner's records only" },
  'consent.record': { roles: ['worker'], scope: "own partner's records of a person known there" },
  'referral.request': { roles: ['worker'], scope: 'from own partner, for a person known there' },
  'referral.answer': { roles: ['worker'], scope: "own partner's side of the referral only" },
  'person.erase': { roles: ['consortium-admin'], scope: 'through the partner the person asked' },
  'journey.read': {
    roles: ['worker'],
    scope:
      "own partner's entries; the whole journey only with the person's consent for support (read is recorded)",
  },
  'consent.history': { roles: ['worker'], scope: 'partners that hold a record of the person' },
  'journey.reads': { roles: ['worker'], scope: 'partners that hold a record of the person' },
  'referral.inbox': {
    roles: ['worker', 'steward', 'statutory-reader'],
    scope:
      'referrals to own organisation, and any one to or from it; name and reason only with consent, never to a statutory body',
  },
  'referral.sent': { roles: ['worker', 'steward'], scope: 'referrals from own partner, with their outcome' },
  'learning.record': {
    roles: ['worker', 'steward'],
    scope:
      "own partner's learning cycles, team sessions and issues; place cycles, and issues owned by government, by stewards",
  },
  'learning.read': {
    roles: ['worker', 'steward', 'statutory-reader'],
    scope:
      'learning cycles and the issue log across the place (nothing in them identifies a person); a statutory body sees place cycles and the issues at level 3 or owned by government',
  },
  'place.read': {
    roles: ['steward'],
    scope: 'aggregates across the place for a period; never a person, nor a count that identifies one',
  },
  'log.verify': {
    roles: ['steward', 'statutory-reader', 'consortium-admin'],
    scope: "digests and event positions of a partner's log; nothing personal",
  },
  'evidence.compose': {
    roles: ['steward'],
    scope:
      'a pack for any statutory body of the consortium; case studies only of people who consented to one',
  },
  'evidence.approve': {
    roles: ['steward'],
    scope: "approves or declines for the steward's own partner, once",
  },
  'evidence.publish': { roles: ['steward'], scope: 'a pack the consortium rule has approved' },
  'evidence.read': {
    roles: ['steward', 'statutory-reader'],
    scope: 'stewards: every pack; a statutory body: the packs published to it',
  },
  'feed.read': {
    roles: ['statutory-reader', 'consortium-admin'],
    scope: "a statutory body's own feed only",
  },
  'feed.manage': {
    roles: ['statutory-reader', 'consortium-admin'],
    scope: "a statutory body's own webhook and deliveries only",
  },
} as const satisfies Record<string, { roles: readonly Role[]; scope: string }>;

export type Action = keyof typeof ACCESS_RULES;

export function allows(action: Action, role: Role): boolean {
  return (ACCESS_RULES[action].roles as readonly Role[]).includes(role);
}
