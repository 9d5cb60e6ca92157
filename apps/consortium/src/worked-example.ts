import { RunningConsortium } from './consortium-runner';

const HOUR = 3600_000;

async function call(
  base: string,
  path: string,
  token: string,
  body: unknown,
): Promise<Record<string, string>> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, string>;
  if (!res.ok) throw new Error(`seeding ${path} failed: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * The worked example the embedded default starts with, told through the same HTTP APIs a worker uses: a
 * person supported by Fresh Start after a move out of homelessness, who consents to share their journey
 * with Spartans and Move On, and is referred to Spartans' community football, where they are welcomed.
 */
export async function seedWorkedExample(
  c: RunningConsortium,
  tokens: Map<string, string>,
): Promise<string | null> {
  const fs = c.partners.get('fresh-start');
  const sp = c.partners.get('spartans');
  if (!fs || !sp) return null; // another consortium: its own file, its own example
  if ((await fs.store.readLog({ transactionId: '0', position: 0 }, 1)).length > 0) return null;
  const fsWorker = tokens.get('fresh-start-worker') as string;
  const spWorker = tokens.get('spartans-worker') as string;
  const now = Date.now();
  const { personRef } = await call(fs.url, '/people', fsWorker, {
    name: 'Kayleigh Morrison',
    dateOfBirth: '1991-03-14',
    contact: { phone: '+44 131 555 0199', address: '12 Pennywell Road, Edinburgh' },
    whatMatters:
      'Keeping my flat, and my son settling at his new school. "My life is a mess" but I want it sorted.',
  });
  await call(fs.url, `/people/${personRef}/consents`, fsWorker, {
    partners: ['spartans', 'move-on'],
    purposes: ['support', 'referral'],
  });
  await call(fs.url, `/people/${personRef}/journey/contacts`, fsWorker, {
    kind: 'visit',
    occurredAt: new Date(now - 72 * HOUR).toISOString(),
    durationMinutes: 60,
    notes:
      'Home visit. Rent arrears and council tax debt; overwhelmed by letters. Son starting secondary school.',
  });
  await call(fs.url, `/people/${personRef}/journey/contacts`, fsWorker, {
    kind: 'phone-call',
    occurredAt: new Date(now - 48 * HOUR).toISOString(),
    durationMinutes: 20,
    notes: 'Called to check in; benefits look wrong, booked help to check them.',
  });
  const { referralId } = await call(fs.url, '/referrals', fsWorker, {
    personRef,
    toOrganisation: 'spartans',
    reason: 'Would like to get back into football and meet people nearby; son may join too.',
  });
  // Spartans answers once the referral has reached its own store.
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${sp.url}/referrals/${referralId}/acceptance`, {
      method: 'POST',
      headers: { authorization: `Bearer ${spWorker}` },
    });
    if (res.status !== 404) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await call(sp.url, `/people/${personRef}/journey/contacts`, spWorker, {
    kind: 'drop-in',
    occurredAt: new Date(now - 2 * HOUR).toISOString(),
    durationMinutes: 90,
    notes: 'Came to the Thursday community session with her son.',
  });
  // What her story shows about the system goes up the issue log, and to the council.
  const fsSteward = tokens.get('fresh-start-steward');
  if (fsSteward) {
    const { issueId } = await call(fs.url, '/issues', fsSteward, {
      description:
        'Council tax debt is passed to enforcement while a benefit claim is still being checked, so people moving out of homelessness fall into arrears again.',
      level: 3,
      owner: 'government',
      raisedFrom: { kind: 'journey-pattern', ref: 'arrears-after-resettlement' },
    });
    await call(fs.url, `/issues/${issueId}/countermeasure`, fsSteward, {
      countermeasure: 'Workers ask the council to pause recovery while a claim is checked, case by case.',
    });
    await call(fs.url, `/issues/${issueId}/asks`, fsSteward, {
      body: 'cec',
      ask: 'Pause council tax recovery for anyone whose benefit claim is being checked with a consortium partner.',
    });
  }
  return personRef;
}
