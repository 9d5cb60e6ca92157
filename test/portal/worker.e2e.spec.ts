import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { settled, startTestConsortium } from '../harness/consortium';
import { eventually } from '../harness/index';
import { decode, errorSummary, heading, Page, PortalClient } from './portal-client';

const PASSWORD = 'a demo password for the tests';

describe('portal: a worker’s pages', () => {
  let c: RunningConsortium;
  let personRef: string;

  beforeAll(async () => {
    c = await startTestConsortium('real', {}, { portal: { demoPassword: PASSWORD } });
  });
  afterAll(() => c?.stop());

  const signedIn = async (userId: string) => {
    const browser = new PortalClient(c.portal.url);
    await browser.signIn(userId, PASSWORD);
    return browser;
  };
  const eventsAt = async (partner: string): Promise<number> => {
    const [{ n }] = await c.projection.dataSource.query(
      `SELECT count(*)::int AS n FROM ${c.schemaOf(`partner_${partner}`)}.events`,
    );
    return n;
  };
  /** Loads a page until it shows what the projection is still catching up with. */
  const until = (browser: PortalClient, path: string, text: string): Promise<Page> =>
    eventually(async () => {
      const page = await browser.get(path);
      return decode(page.html).includes(text) ? page : undefined;
    }, `${path} to show "${text}"`);

  it('finds nobody at the door, then refuses a registration with bad input and writes nothing', async () => {
    const fs = await signedIn('fresh-start-worker');
    const lookup = await fs.submit('/worker/lookup', { name: 'Ailsa Brown', dateOfBirth: '14/02/1988' });
    expect(heading(lookup.html)).toBe('No journey was found');
    expect(lookup.html).toContain('Register Ailsa Brown');

    const before = await eventsAt('fresh_start');
    await fs.get('/worker/people/new');
    const bad = await fs.submit('/worker/people', {
      name: '',
      dateOfBirth: '31/02/1988',
      email: 'not an email',
      whatMatters: 'Keeping my flat',
    });
    expect(bad.status).toBe(400);
    expect(errorSummary(bad.html)).toEqual(
      expect.arrayContaining([
        'Full name is required',
        'Date of birth is not a real date',
        'Email address must be an email address',
      ]),
    );
    expect(bad.html).toContain('<a href="#date-of-birth">');
    expect(bad.html).toMatch(/<p class="ds_question__error-message" id="email-error">/);
    expect(bad.html).toMatch(/id="email" name="email" value="not an email"[^>]*aria-invalid="true"/);

    const halfConsent = await fs.submit('/worker/people', {
      name: 'Ailsa Brown',
      dateOfBirth: '14/02/1988',
      whatMatters: 'Keeping my flat',
      partners: ['fresh-start'],
    });
    expect(errorSummary(halfConsent.html)).toEqual(['Select what they consent to share for']);
    expect(await eventsAt('fresh_start')).toBe(before);
  });

  it('registers a person with their consent, records a contact and refers them to Spartans', async () => {
    const fs = await signedIn('fresh-start-worker');
    await fs.get('/worker/people/new');
    const registered = await fs.submit('/worker/people', {
      name: 'Ailsa Brown',
      dateOfBirth: '14/02/1988',
      phone: '0131 555 0100',
      whatMatters: 'Keeping my flat and seeing my kids',
      partners: ['fresh-start', 'spartans'],
      purposes: ['support', 'referral'],
    });
    personRef = /\/worker\/people\/(NE-[0-9A-Z]{10})$/.exec(registered.url)?.[1] as string;
    expect(personRef).toBeDefined();
    const journey = await until(fs, `/worker/people/${personRef}`, 'Ailsa Brown');
    expect(decode(journey.html)).toContain('Keeping my flat and seeing my kids');

    // A contact: the form, then one POST that comes back to the journey (two page loads).
    const form = await fs.get(`/worker/people/${personRef}/records/contacts`);
    expect(heading(form.html)).toBe('Record a contact');
    expect(form.html).toContain('<legend>Kind of contact</legend>');
    const notANumber = await fs.submit(`/worker/people/${personRef}/records/contacts`, {
      kind: 'visit',
      durationMinutes: 'an hour',
    });
    expect(errorSummary(notANumber.html)).toEqual(['How long must be a number']);
    const tooLong = await fs.submit(`/worker/people/${personRef}/records/contacts`, {
      kind: 'visit',
      durationMinutes: '5000',
    });
    expect(errorSummary(tooLong.html)).toEqual(['How long must be at most a day (1440)']);
    const recorded = await fs.submit(`/worker/people/${personRef}/records/contacts`, {
      kind: 'visit',
      durationMinutes: '45',
      notes: 'Talked about the rent arrears',
    });
    expect(recorded.url).toMatch(new RegExp(`/worker/people/${personRef}$`));
    expect(recorded.html).toContain('The contact is recorded.');
    await until(fs, `/worker/people/${personRef}`, 'Talked about the rent arrears');

    const soft = await fs.submit(`/worker/people/${personRef}/records/reflections`, {
      text: 'Feeling calmer',
      measure1_measure: 'how calm I feel',
      measure1_value: '12',
      measure1_min: '1',
      measure1_max: '10',
    });
    expect(errorSummary(soft.html)).toEqual([
      'Measure 1 value must lie on its own scale, from min to max (min below max)',
    ]);

    await fs.get(`/worker/people/${personRef}/referral`);
    const noReason = await fs.submit(`/worker/people/${personRef}/referral`, { toOrganisation: 'spartans' });
    expect(errorSummary(noReason.html)).toEqual(['Why is required: why this referral, in a sentence or two']);
    const referred = await fs.submit(`/worker/people/${personRef}/referral`, {
      toOrganisation: 'spartans',
      reason: 'Football on Tuesdays would help her get out',
    });
    expect(referred.html).toContain('The referral is sent.');
  });

  it('lets a Spartans worker accept from the inbox in one step and record a contact', async () => {
    const sp = await signedIn('spartans-worker');
    const inbox = await until(sp, '/worker/referrals', 'Ailsa Brown');
    expect(decode(inbox.html)).toContain('Football on Tuesdays would help her get out');
    expect(inbox.html).toContain('>Requested</strong>');
    const referralId = /\/worker\/referrals\/([0-9a-f-]{36})\/acceptance/.exec(inbox.html)?.[1] as string;
    const accepted = await sp.submit(`/worker/referrals/${referralId}/acceptance`, { from: 'inbox' });
    expect(accepted.url).toMatch(/\/worker\/referrals$/);
    expect(accepted.html).toContain('You accepted the referral.');
    const mine = await until(sp, '/worker/referrals?mine=true', '>Accepted</strong>');
    expect(decode(mine.html)).toContain('Ailsa Brown');

    await sp.get(`/worker/people/${personRef}/records/contacts`);
    const recorded = await sp.submit(`/worker/people/${personRef}/records/contacts`, {
      kind: 'drop-in',
      durationMinutes: '20',
    });
    expect(recorded.html).toContain('The contact is recorded.');
    // The whole journey across partners, within her consent: Fresh Start's contact is there too.
    await until(sp, `/worker/people/${personRef}`, 'Talked about the rent arrears');
  });

  it('shows Fresh Start who outside it read the journey', async () => {
    await settled(c);
    const fs = await signedIn('fresh-start-worker');
    const reads = await until(fs, `/worker/people/${personRef}/reads`, 'spartans-worker');
    expect(heading(reads.html)).toBe('Who read this journey');
    expect(decode(reads.html)).toContain('The Spartans Community Football Academy');
  });

  it('refuses a partner without consent with the 403 page', async () => {
    const nea = await signedIn('north-edinburgh-arts-worker');
    const page = await nea.get(`/worker/people/${personRef}`);
    expect(page.status).toBe(403);
    expect(heading(page.html)).toBe('You cannot see this page');
    expect(decode(page.html)).toContain('has not consented to share their journey');
  });

  it('welcomes at another door a person whose journey began elsewhere, with their consent', async () => {
    const nea = await signedIn('north-edinburgh-arts-worker');
    const found = await nea.submit('/worker/lookup', { name: 'Ailsa Brown', dateOfBirth: '14/02/1988' });
    expect(heading(found.html)).toBe('A journey was found');
    expect(found.html).toContain(`/worker/people/${personRef}/arrival`);
    // Only that a journey exists: nothing of its content is on the page.
    expect(decode(found.html)).not.toContain('Keeping my flat');
    const noPurpose = await nea.submit(`/worker/people/${personRef}/arrival`, {
      name: 'Ailsa Brown',
      dateOfBirth: '14/02/1988',
      partners: ['north-edinburgh-arts'],
    });
    expect(errorSummary(noPurpose.html)).toEqual(['Select what they consent to share for']);
    const welcomed = await nea.submit(`/worker/people/${personRef}/arrival`, {
      name: 'Ailsa Brown',
      dateOfBirth: '14/02/1988',
      partners: ['north-edinburgh-arts', 'fresh-start'],
      purposes: ['support'],
    });
    expect(welcomed.url).toMatch(new RegExp(`/worker/people/${personRef}$`));
    await until(nea, `/worker/people/${personRef}`, 'Talked about the rent arrears');
  });

  it('rejects a referral only with a reason, then the referrer sees it rejected', async () => {
    const fs = await signedIn('fresh-start-worker');
    await fs.get(`/worker/people/${personRef}/referral`);
    await fs.submit(`/worker/people/${personRef}/referral`, {
      toOrganisation: 'move-on',
      reason: 'Help with a job search',
    });
    const mo = await signedIn('move-on-worker');
    // Move On has no consent to see her name or the reason: the inbox says so, and still lets it answer.
    const inbox = await until(mo, '/worker/referrals', personRef);
    expect(decode(inbox.html)).toContain('Withheld: the person has not consented');
    expect(decode(inbox.html)).not.toContain('Help with a job search');
    const referralId = /\/worker\/referrals\/([0-9a-f-]{36})\/status/.exec(inbox.html)?.[1] as string;
    const noReason = await mo.submit(`/worker/referrals/${referralId}/status`, {
      from: 'inbox',
      status: 'rejected',
      reason: '',
    });
    expect(noReason.status).toBe(400);
    expect(errorSummary(noReason.html).join(' ')).toMatch(/reason/i);
    const rejected = await mo.submit(`/worker/referrals/${referralId}/status`, {
      from: 'inbox',
      status: 'rejected',
      reason: 'We have no places until spring',
    });
    expect(rejected.html).toContain('The referral is now rejected.');
    const sent = await until(fs, '/worker/referrals?sent=true', '>Rejected</strong>');
    expect(decode(sent.html)).toContain('Help with a job search');
  });

  it('records and withdraws consent', async () => {
    const fs = await signedIn('fresh-start-worker');
    const page = await fs.get(`/worker/people/${personRef}/consents`);
    expect(heading(page.html)).toBe('Consent');
    const given = await fs.submit(`/worker/people/${personRef}/consents`, {
      partners: ['move-on'],
      purposes: ['support'],
    });
    expect(given.html).toContain('Their consent is recorded.');
    const listed = await until(fs, `/worker/people/${personRef}/consents`, 'Move On');
    const withdrawal = new RegExp(`/worker/people/${personRef}/consents/([0-9a-f-]{36})/withdrawal`);
    expect(listed.html).toMatch(withdrawal);
    const withdrawn = await fs.submit(listed.html.match(withdrawal)?.[0] as string, {});
    expect(withdrawn.html).toContain('The consent is withdrawn.');
  });
});
