import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RECORD_KINDS } from '@app/privacy';
import { z } from 'zod';

/** The portal roles an organisation's own identity provider may grant: staff of a partner, or of a statutory body. */
export const PARTNER_SIGN_ON_ROLES = ['worker', 'steward'] as const;
export const STATUTORY_SIGN_ON_ROLES = ['statutory-reader'] as const;

/**
 * Single sign-on with the organisation's own OpenID Connect provider (ADR 0009). The client secret is never in
 * this file: `clientSecretFrom` names the environment variable (or secrets entry) that holds it; without one
 * the portal is a public client and relies on PKCE alone. A person's role comes from one claim of theirs: the
 * first rule whose value the claim holds (the claim may be a string or a list) wins; no match, no access.
 */
const signOn = z.object({
  issuer: z.string().url(),
  clientId: z.string().min(1),
  clientSecretFrom: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable, e.g. HLS_SIGN_ON_SECRET_NHS')
    .optional(),
  scopes: z
    .array(z.string().min(1))
    .refine((s) => s.includes('openid'), 'the scopes must include openid')
    .default(['openid', 'profile', 'email']),
  /** The claim shown as the user's name (never used to decide anything). */
  nameClaim: z.string().min(1).default('name'),
  roles: z.object({
    /** A claim name; a dotted path reaches into an object claim (realm_access.roles). */
    claim: z.string().min(1),
    map: z
      .array(
        z.object({
          value: z.string().min(1),
          role: z.enum([...PARTNER_SIGN_ON_ROLES, ...STATUTORY_SIGN_ON_ROLES]),
        }),
      )
      .min(1),
  }),
});

/**
 * A consortium is configuration, never code: a second consortium in another place runs the same code with
 * its own file. Adding a partner is an edit of that file.
 */
const organisation = z.object({
  id: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{1,40}$/,
      'an id is lower case letters, digits and hyphens, starting with a letter',
    ),
  name: z.string().min(1),
  signOn: signOn.optional(),
});

/**
 * A partner's system of record: PostgreSQL (the default, the embedded database in `npm start`) or KurrentDB
 * (ADR 0008). Either serves the same event-store port; a partner may move between them by export and import.
 */
const partner = organisation.extend({
  eventStore: z.enum(['postgres', 'kurrentdb']).default('postgres'),
});

export const consortiumSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]{1,40}$/),
    name: z.string().min(1),
    place: z.string().min(1),
    purpose: z.string().min(1),
    referencePrefix: z.string().regex(/^[A-Z]{2,4}$/),
    partners: z.array(partner).min(1),
    statutoryBodies: z.array(organisation),
    consentPurposes: z.array(z.string().min(1)).min(1),
    referralAnswerWithinDays: z.number().int().positive(),
    themes: z.array(z.string().min(1)),
    /**
     * SWEMWBS is licensed: a consortium switches it on once registered, and supplies the seven items' wording
     * itself. The meaningful-change threshold is in metric points.
     */
    wellbeing: z
      .object({
        swemwbs: z.object({
          enabled: z.boolean(),
          meaningfulChange: z.number().positive(),
          items: z.array(z.string().min(1)),
        }),
      })
      .default({ swemwbs: { enabled: false, meaningfulChange: 3, items: [] } }),
    /**
     * How long each kind of personal record stays readable, in years after the year it is about; identity
     * (name, date of birth, contact) in years after the person's last recorded activity. Enforced by
     * destroying keys, like erasure.
     */
    retention: z
      .object({
        identityYearsAfterLastActivity: z.number().int().positive(),
        recordYears: z.record(
          z.enum(RECORD_KINDS.filter((k) => k !== 'identity') as [string, ...string[]]),
          z.number().int().positive(),
        ),
      })
      .default({ identityYearsAfterLastActivity: 6, recordYears: {} }),
    /**
     * Evidence packs for statutory bodies. `approval`: how many partners' stewards must agree before a pack is
     * published (the composer's partner counts): every partner, or at least a number of them. Counts from 1 to
     * `disclosureMinimum - 1` are never published.
     */
    evidence: z
      .object({
        approval: z.union([z.literal('all-partners'), z.object({ atLeast: z.number().int().positive() })]),
        disclosureMinimum: z.number().int().min(2),
        suppressZeros: z.boolean(),
      })
      .default({ approval: 'all-partners', disclosureMinimum: 10, suppressZeros: false }),
  })
  .superRefine((c, ctx) => {
    const ids = [...c.partners, ...c.statutoryBodies].map((o) => o.id);
    const dup = ids.find((id, i) => ids.indexOf(id) !== i);
    if (dup) ctx.addIssue({ code: 'custom', message: `organisation id "${dup}" is used twice` });
    const checkSignOn = (list: Organisation[], kind: string, allowed: readonly string[], key: string) => {
      list.forEach((o, i) => {
        o.signOn?.roles.map.forEach((rule, j) => {
          if (!allowed.includes(rule.role))
            ctx.addIssue({
              code: 'custom',
              path: [key, i, 'signOn', 'roles', 'map', j, 'role'],
              message: `a ${kind}'s staff may be ${allowed.join(' or ')}, not ${rule.role}`,
            });
        });
      });
    };
    checkSignOn(c.partners, 'partner', PARTNER_SIGN_ON_ROLES, 'partners');
    checkSignOn(c.statutoryBodies, 'statutory body', STATUTORY_SIGN_ON_ROLES, 'statutoryBodies');
    const { approval } = c.evidence;
    if (approval !== 'all-partners' && approval.atLeast > c.partners.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['evidence', 'approval', 'atLeast'],
        message: `more approvals than the consortium has partners (${c.partners.length})`,
      });
    }
    const { swemwbs } = c.wellbeing;
    if (swemwbs.enabled && swemwbs.items.length !== 7) {
      ctx.addIssue({
        code: 'custom',
        path: ['wellbeing', 'swemwbs', 'items'],
        message: 'SWEMWBS has seven items',
      });
    }
  });

export type Consortium = z.infer<typeof consortiumSchema>;
export type Organisation = z.infer<typeof organisation>;
export type Partner = z.infer<typeof partner>;
export type SignOn = z.infer<typeof signOn>;

export const DEFAULT_CONSORTIUM_FILE = resolve(__dirname, '../../../consortium/north-edinburgh.json');

export function loadConsortium(
  file = process.env.HLS_CONSORTIUM_FILE ?? DEFAULT_CONSORTIUM_FILE,
): Consortium {
  const parsed = consortiumSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ');
    throw new Error(`The consortium file ${file} is not valid: ${why}`);
  }
  return parsed.data;
}

export function isPartner(c: Consortium, id: string): boolean {
  return c.partners.some((p) => p.id === id);
}

export function isStatutoryBody(c: Consortium, id: string): boolean {
  return c.statutoryBodies.some((b) => b.id === id);
}

/** How many partners' stewards must agree to publish an evidence pack, the composer's partner included. */
export function approvalsNeeded(c: Consortium): number {
  const { approval } = c.evidence;
  return approval === 'all-partners' ? c.partners.length : approval.atLeast;
}

export function organisationName(c: Consortium, id: string): string {
  return [...c.partners, ...c.statutoryBodies].find((o) => o.id === id)?.name ?? id;
}
