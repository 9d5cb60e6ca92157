import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { api, tokenFor } from '../harness/consortium';

/** A consortium setting in which wellbeing is measured (SWEMWBS switched on), for the place to show its change. */
export const WITH_WELLBEING = {
  wellbeing: {
    swemwbs: {
      enabled: true,
      meaningfulChange: 3,
      items: Array.from({ length: 7 }, (_, i) => `item ${i + 1}`),
    },
  },
};

/**
 * Some work at Fresh Start for a steward's place view to show: three people with a visit, £120 of support and
 * themes (debt; one also housing); the first referred on to Spartans and, where the consortium measures
 * wellbeing, measured twice (a meaningful improvement). Answers when the partner has taken it all.
 */
export async function seedPlace(c: RunningConsortium): Promise<void> {
  const fs = c.partners.get('fresh-start')?.url as string;
  const worker = await tokenFor(c, 'fresh-start', 'worker');
  const at = new Date(Date.now() - 3600_000).toISOString();
  const post = async (path: string, body: unknown) => {
    const res = await api(fs, 'POST', path, worker, body);
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  for (let i = 0; i < 3; i++) {
    const { personRef } = await post('/people', {
      name: `Iona MacLeod${i}`,
      dateOfBirth: `1990-05-0${i + 1}`,
      whatMatters: 'A home of my own',
    });
    const journey = `/people/${personRef}/journey`;
    await post(`${journey}/contacts`, { kind: 'visit', occurredAt: at, durationMinutes: 45 });
    await post(`${journey}/support`, { kind: 'financial', occurredAt: at, costPounds: 120 });
    await post(`${journey}/life-system`, {
      occurredAt: at,
      actors: [{ name: 'Her sister', relationship: 'sister', helps: true }],
      factors: [{ factor: 'Rent arrears', theme: 'debt' }],
      themes: i === 0 ? ['debt', 'housing'] : ['debt'],
    });
    if (i > 0) continue;
    if (c.consortium.wellbeing.swemwbs.enabled)
      for (const [hoursAgo, score] of [
        [3, 1],
        [2, 5],
      ])
        await post(`${journey}/wellbeing`, {
          occurredAt: new Date(Date.now() - hoursAgo * 3600_000).toISOString(),
          items: Array(7).fill(score),
        });
    await post(`/people/${personRef}/consents`, {
      partners: ['fresh-start', 'spartans'],
      purposes: ['support', 'referral'],
    });
    await post('/referrals', { personRef, toOrganisation: 'spartans', reason: 'x' });
  }
}
