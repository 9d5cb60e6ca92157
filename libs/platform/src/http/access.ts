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
    scope: 'referrals to own organisation; name and reason only with consent, never to a statutory body',
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
} as const satisfies Record<string, { roles: readonly Role[]; scope: string }>;

export type Action = keyof typeof ACCESS_RULES;

export function allows(action: Action, role: Role): boolean {
  return (ACCESS_RULES[action].roles as readonly Role[]).includes(role);
}
