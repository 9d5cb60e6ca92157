import { Consortium } from '@app/consortium';
import { FieldMap, FormErrors, formResult, list, Posted } from '../shared/forms';
import { Outcome } from '../shared/page-actions';
import { UserServices } from '../shared/services';
import { journeyPath } from './worker-paths';

/** The consent questions, shared by registration, a welcome at another door and the consent page. */
export const consentFields: FieldMap = {
  partners: { id: 'partners', label: 'Partners to share with' },
  purposes: { id: 'purposes', label: 'Purposes' },
  validUntil: { id: 'valid-until', label: 'Consent ends' },
};

const PURPOSE_TEXT: Record<string, string> = {
  support: 'Support: partners may see their journey so nobody asks them to tell their story again',
  referral: 'Referral: partners they are referred to may see their name and the reason',
  'case-study': 'Case study: their story may be told, without their name, in evidence to statutory bodies',
  'aggregate-evidence': 'Aggregate evidence: they are counted in figures about the place',
};

export function consentChoices(c: Consortium, ownPartner: string) {
  return {
    partners: c.partners.map((p) => ({
      value: p.id,
      text: p.id === ownPartner ? `${p.name} (your organisation)` : p.name,
    })),
    purposes: c.consentPurposes.map((p) => ({ value: p, text: PURPOSE_TEXT[p] ?? p })),
  };
}

/**
 * The consent the form describes, or none if nothing was chosen. Choosing partners without a purpose (or the
 * reverse) is an incomplete answer, shown before anything is written; the rest is the service's to check.
 */
export function consentRequest(
  body: Posted,
  errors: FormErrors,
): { partners: string[]; purposes: string[] } | null {
  const partners = list(body, 'partners');
  const purposes = list(body, 'purposes');
  if (!partners.length && !purposes.length) return null;
  if (!partners.length) errors.add(consentFields.partners, 'Select the partners they consent to share with');
  if (!purposes.length) errors.add(consentFields.purposes, 'Select what they consent to share for');
  return { partners, purposes };
}

/**
 * After a person is registered or welcomed here: the consent they gave, if any. The person is recorded
 * already, so a consent the service refuses goes to the consent page, where it can be put right.
 */
export async function withConsent(
  api: UserServices,
  personRef: string,
  consent: { partners: string[]; purposes: string[] } | null,
  say: { done: string; notGiven: string },
): Promise<Outcome> {
  if (consent) {
    const given = formResult(
      await api.partner('POST', `/people/${encodeURIComponent(personRef)}/consents`, consent),
      consentFields,
    );
    if (!given.ok)
      return {
        say: `${say.notGiven}: ${given.errors.summary.map((s) => s.text).join('; ')}`,
        to: `${journeyPath(personRef)}/consents`,
      };
  }
  return { say: `${say.done}${consent ? ' Their consent is recorded.' : ''}`, to: journeyPath(personRef) };
}
