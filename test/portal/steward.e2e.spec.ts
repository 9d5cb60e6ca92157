import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { api, settled, startTestConsortium, tokenFor } from '../harness/consortium';
import { seedPlace, WITH_WELLBEING } from './place-seed';
import { decode, errorSummary, heading, pageShowing, signedInAs } from './portal-client';

const PASSWORD = 'a demo password for the tests';

describe('portal: a steward’s pages', () => {
  let c: RunningConsortium;
  let issueId: string;
  let packPath: string;
  let placeCycle: string;
  let teamCycle: string;

  beforeAll(async () => {
    c = await startTestConsortium('real', WITH_WELLBEING, { portal: { demoPassword: PASSWORD } });
    await seedPlace(c);
    const fs = c.partners.get('fresh-start')?.url as string;
    // Learning at two scales: a team's cycle that informs the place's.
    const steward = await tokenFor(c, 'fresh-start', 'steward');
    const place = await api(fs, 'POST', '/learning-cycles', steward, {
      title: 'Arrears after resettlement',
      scale: 'place',
      purpose: 'Nobody falls back into arrears after moving in',
    });
    const team = await api(fs, 'POST', '/learning-cycles', steward, {
      title: 'Thursday drop-in',
      scale: 'team',
      team: 'outreach',
    });
    placeCycle = place.body.cycleId as string;
    teamCycle = team.body.cycleId as string;
    expect(
      (
        await api(fs, 'POST', `/learning-cycles/${teamCycle}/links`, steward, {
          to: placeCycle,
          relation: 'informs',
        })
      ).status,
    ).toBe(201);
    await settled(c);
  }, 120_000);
  afterAll(() => c?.stop());

  const signedIn = (userId: string) => signedInAs(c.portal.url, userId, PASSWORD);
  const eventsAt = async (partner: string): Promise<number> => {
    const [{ n }] = await c.projection.dataSource.query(
      `SELECT count(*)::int AS n FROM ${c.schemaOf(`partner_${partner}`)}.events`,
    );
    return n;
  };
  const until = pageShowing;

  it('lands on the place, with each chart drawn as SVG and its numbers as a table beside it', async () => {
    const fs = await signedIn('fresh-start-steward');
    const home = await fs.get('/');
    expect(home.url).toMatch(/\/steward$/);
    const today = new Date().toISOString().slice(0, 10);
    const place = await until(fs, `/steward?from=2026-01-01&to=${today}`, 'Referral flows in numbers');
    expect(place.status).toBe(200);
    expect(heading(place.html)).toBe('The place');
    for (const id of ['chart-flows', 'chart-themes', 'chart-contacts', 'chart-cost']) {
      expect(place.html).toMatch(new RegExp(`<svg [^>]*role="img" aria-labelledby="${id}-title ${id}-desc"`));
      expect(place.html).toContain(`<title id="${id}-title">`);
    }
    expect(place.html).toMatch(/<figure class="portal_figure" aria-labelledby="flows-caption">/);
    const text = decode(place.html);
    expect(text).toMatch(
      /<th scope="row">Fresh Start<\/th><td>The Spartans Community Football Academy<\/td><td>1<\/td>/,
    );
    expect(text).toMatch(/<th scope="row">debt<\/th>/);
    expect(text).toContain('£360');
    expect(place.html).not.toContain('<script>');
    expect(place.html).toContain('<caption>Themes in the whole period</caption>');
    expect(place.html).toMatch(/role="img" aria-labelledby="chart-wellbeing-title chart-wellbeing-desc"/);
    expect(text).toMatch(/<th scope="row">Fresh Start<\/th><td>1<\/td><td>0<\/td><td>0<\/td><\/tr>/);
    expect(place.html).not.toContain('Themes month by month');

    const monthly = await fs.get(`/steward?from=2026-01-01&to=${today}&monthly=yes`);
    expect(monthly.html).toContain('<caption>Themes month by month: people with each theme</caption>');
    expect(monthly.html).toMatch(/<th scope="col">Jan 2026<\/th>/);
    expect(monthly.html).toMatch(/<polyline /);
    expect(monthly.html).toMatch(/value="yes" checked/);
  });

  it('keeps a bad period as typed and shows the error summary', async () => {
    const fs = await signedIn('fresh-start-steward');
    const bad = await fs.get('/steward?from=2026-03-01&to=2026-02-01');
    expect(bad.status).toBe(400);
    expect(errorSummary(bad.html).length).toBeGreaterThan(0);
    expect(bad.html).toContain('value="2026-03-01"');
    expect(bad.html).not.toContain('chart-flows');
  });

  it('raises an issue, refuses an escalation without a reason, escalates it to government and asks the council', async () => {
    const fs = await signedIn('fresh-start-steward');
    await fs.get('/steward/issues/new');
    const raised = await fs.submit('/steward/issues', {
      description: 'Crisis grants take three weeks to pay',
      level: '2',
      owner: 'leadership',
      raisedFromKind: 'journey-pattern',
      raisedFromRef: 'grant-delays',
    });
    expect(raised.html).toContain('The issue is in the log.');
    const log = await until(fs, '/steward/issues', 'Crisis grants take three weeks to pay');
    issueId = /href="\/steward\/issues\/([0-9a-f-]{36})">Crisis grants/.exec(log.html)![1];

    const page = await fs.get(`/steward/issues/${issueId}`);
    expect(page.html).toContain('2: system');
    const before = await eventsAt('fresh_start');
    const noReason = await fs.submit(`/steward/issues/${issueId}/escalation`, {
      level: '3',
      owner: 'government',
      reason: '',
    });
    expect(noReason.status).toBe(400);
    expect(errorSummary(noReason.html)).toEqual([expect.stringMatching(/^Why it is escalated/)]);
    expect(noReason.html).toContain('<a href="#escalate-reason">');
    // What was chosen stays chosen.
    expect(noReason.html).toMatch(/value="government" checked/);
    expect(await eventsAt('fresh_start')).toBe(before);

    const escalated = await fs.submit(`/steward/issues/${issueId}/escalation`, {
      level: '3',
      owner: 'government',
      reason: 'Only the government can change the grant rules',
    });
    expect(escalated.html).toContain('The issue is escalated.');
    await until(fs, `/steward/issues/${issueId}`, 'Only the government can change the grant rules');

    const asked = await fs.submit(`/steward/issues/${issueId}/asks`, {
      body: 'cec',
      ask: 'Pay crisis grants within two days',
    });
    expect(asked.html).toContain('The ask is recorded.');
    const after = await until(fs, `/steward/issues/${issueId}`, 'Pay crisis grants within two days');
    expect(decode(after.html)).toContain('(City of Edinburgh Council)');

    // The council's answer to the ask, recorded by the steward: nothing is written without one.
    const askId = /name="askId" value="([0-9a-f-]{36})"/.exec(after.html)?.[1] as string;
    expect(decode(after.html)).toContain(
      'City of Edinburgh Council: Pay crisis grants within two days</label>',
    );
    const beforeAnswer = await eventsAt('fresh_start');
    const noAnswer = await fs.submit(`/steward/issues/${issueId}/ask-outcomes`, { response: '' });
    expect(noAnswer.status).toBe(400);
    expect(errorSummary(noAnswer.html)).toEqual([
      expect.stringMatching(/^Which ask/),
      expect.stringMatching(/^Their answer/),
      expect.stringMatching(/^What they said/),
    ]);
    expect(noAnswer.html).toContain('<a href="#ask-outcome">');
    expect(await eventsAt('fresh_start')).toBe(beforeAnswer);
    const answered = await fs.submit(`/steward/issues/${issueId}/ask-outcomes`, {
      askId,
      outcome: 'partly-agreed',
      response: 'Grants under £200 within two days from April',
    });
    expect(answered.html).toContain('Their answer is recorded.');
    const withAnswer = await until(fs, `/steward/issues/${issueId}`, 'Grants under £200 within two days');
    expect(decode(withAnswer.html)).toContain('Partly agreed: Grants under £200 within two days from April');
    expect(decode(withAnswer.html)).toContain('(answered: partly agreed)</label>');

    const filtered = await fs.get('/steward/issues?level=3&owner=government&status=open');
    expect(decode(filtered.html)).toContain('Crisis grants take three weeks to pay');
    const none = await fs.get('/steward/issues?level=1');
    expect(decode(none.html)).not.toContain('Crisis grants take three weeks to pay');
  });

  it('closes an issue, saying what changed', async () => {
    const fs = await signedIn('fresh-start-steward');
    await fs.get(`/steward/issues/${issueId}`);
    const empty = await fs.submit(`/steward/issues/${issueId}/closure`, { whatChanged: '' });
    expect(empty.status).toBe(400);
    expect(errorSummary(empty.html)).toEqual([expect.stringMatching(/^What changed/)]);
    const closed = await fs.submit(`/steward/issues/${issueId}/closure`, {
      whatChanged: 'Grants now pay in two days',
    });
    expect(closed.html).toContain('The issue is closed.');
    await until(fs, '/steward/issues?status=closed', 'Grants now pay in two days');
  });

  it('reopens a closed issue only with a reason', async () => {
    const fs = await signedIn('fresh-start-steward');
    const page = await until(fs, `/steward/issues/${issueId}`, 'This issue is closed.');
    expect(page.html).toContain('action="/steward/issues/' + issueId + '/reopening"');
    const before = await eventsAt('fresh_start');
    const empty = await fs.submit(`/steward/issues/${issueId}/reopening`, { reason: '' });
    expect(empty.status).toBe(400);
    expect(errorSummary(empty.html)).toEqual([expect.stringMatching(/^Why it is reopened/)]);
    expect(empty.html).toContain('<a href="#reopen-reason">');
    expect(await eventsAt('fresh_start')).toBe(before);
    const reopened = await fs.submit(`/steward/issues/${issueId}/reopening`, {
      reason: 'Payments slipped back to three weeks in the summer',
    });
    expect(reopened.html).toContain('The issue is open again.');
    await until(fs, '/steward/issues?status=open', 'Crisis grants take three weeks to pay');
    const open = await until(fs, `/steward/issues/${issueId}`, 'Payments slipped back');
    expect(open.html).toContain('Escalate the issue');
  });

  it('shows the learning cycles by scale and stage, each with its linked cycles', async () => {
    const fs = await signedIn('fresh-start-steward');
    const page = await until(fs, '/steward/learning', 'Thursday drop-in');
    expect(page.status).toBe(200);
    expect(page.html).toContain('<caption>Learning cycles by scale and stage</caption>');
    expect(page.html).toMatch(/<th scope="row">Place<\/th>(<td>\d+<\/td>)*<td>1<\/td><\/tr>/);
    const team = await fs.get(`/steward/learning/${teamCycle}`);
    expect(heading(team.html)).toBe('Thursday drop-in');
    expect(team.html).toMatch(
      new RegExp(
        `<td>informs</td><th scope="row"><a href="/steward/learning/${placeCycle}">Arrears after resettlement</a>`,
      ),
    );
    const place = await until(fs, `/steward/learning/${placeCycle}`, 'Thursday drop-in');
    expect(decode(place.html)).toContain('Nobody falls back into arrears after moving in');
    const onlyTeams = await fs.get('/steward/learning?scale=team');
    expect(onlyTeams.html).not.toContain('<h2>Place cycles</h2>');
  });

  it('convenes a learning cycle and takes it through its stages, each form with its own errors', async () => {
    const fs = await signedIn('fresh-start-steward');
    const form = await fs.get('/steward/learning/new');
    expect(heading(form.html)).toBe('Convene a learning cycle');
    const before = await eventsAt('fresh_start');
    const untitled = await fs.submit('/steward/learning', { title: '', scale: 'team', team: '' });
    expect(untitled.status).toBe(400);
    expect(errorSummary(untitled.html)[0]).toMatch(/^Title/);
    expect(untitled.html).toMatch(/value="team" checked/);
    expect(await eventsAt('fresh_start')).toBe(before);
    const convened = await fs.submit('/steward/learning', {
      title: 'Evening phone line',
      scale: 'organisation',
    });
    expect(convened.html).toContain('The learning cycle is convened.');
    const cycleId = /\/steward\/learning\/([0-9a-f-]{36})$/.exec(convened.url)?.[1] as string;
    expect(cycleId).toBeDefined();
    const cycle = `/steward/learning/${cycleId}`;

    // Before its purpose, a stage is refused by the service, and the page says why.
    const early = await fs.submit(`${cycle}/embedding`, { bauChanges: 'Phones answered until 9pm' });
    expect(early.status).toBe(400);
    expect(errorSummary(early.html).join(' ')).toMatch(/purpose/);
    const post = async (stage: string, fields: Record<string, string>, done: string) => {
      const page = await fs.submit(`${cycle}/${stage}`, fields);
      expect(decode(page.html)).toContain(done);
      expect(page.url).toMatch(new RegExp(`${cycle}$`));
    };
    await post('purpose', { purpose: 'Nobody in crisis waits till morning' }, 'The purpose is set.');
    const noActors = await fs.submit(`${cycle}/system-understanding`, { actors: '', factors: 'Staff rotas' });
    expect(noActors.status).toBe(400);
    expect(noActors.html).toContain('<a href="#actors">');
    await post(
      'system-understanding',
      { actors: 'Night staff\nCallers', factors: 'Staff rotas\nPhone costs' },
      'The understanding of the system is recorded.',
    );
    await post(
      'experiments',
      {
        question: 'Do callers after 6pm need a person or a plan?',
        actions: 'Answer until 9pm for a month',
        dataToCollect: 'Calls by hour\nWhat callers asked for',
        sensemaking: 'Together at the team meeting',
        safeToFail: 'The old voicemail stays on',
      },
      'The experiment is designed.',
    );
    const start = await until(
      fs,
      `${cycle}/experiment-start`,
      'Do callers after 6pm need a person or a plan?',
    );
    const experimentId = /name="experimentId" value="([0-9a-f-]{36})"/.exec(start.html)?.[1] as string;
    // Learning waits for a running experiment: until then the page says there is none to choose.
    expect(decode((await fs.get(`${cycle}/experiment-learning`)).html)).toContain(
      'There is nothing to choose from',
    );
    await post('experiment-start', { experimentId }, 'The experiment is started.');
    const findings = {
      experimentId,
      patternsSeen: 'Most calls before 8pm',
      learningForThisScale: 'A plan is enough',
    };
    await until(fs, `${cycle}/experiment-learning`, 'Do callers after 6pm');
    await post('experiment-learning', findings, 'The learning is recorded.');
    await post('experiment-conclusion', findings, 'The experiment is concluded.');
    await post('embedding', { bauChanges: 'Phones answered until 8pm' }, 'The embedding is recorded.');
    const noDirection = await fs.submit(`${cycle}/influencing`, {
      whose1: 'NHS 24',
      change1: 'Share the rota',
    });
    expect(noDirection.status).toBe(400);
    expect(noDirection.html).toContain('<a href="#direction-1">');
    await post(
      'influencing',
      { whose1: 'NHS 24', direction1: 'vertical', change1: 'Share the evening rota' },
      'The influencing is recorded.',
    );
    await post(
      'management',
      { operatingEffectively: 'Yes', timeToAllocate: 'Two hours a week', barriers: 'Phone costs' },
      'The management of the cycle is recorded.',
    );
    await post(
      'governance',
      {
        areLessonsBeingLearnt: 'Yes',
        howLearningChangesPractice: 'Rotas changed',
        howPracticeBecomesInfrastructure: 'In the staff handbook',
        howLearningAchievesPurpose: 'Fewer people wait',
        howWeKnow: 'Calls answered',
        areBoundariesRight: 'Yes',
      },
      'The governance of the cycle is recorded.',
    );
    const linkForm = await until(fs, `${cycle}/links`, 'Arrears after resettlement');
    expect(linkForm.html).not.toContain(`value="${cycleId}"`);
    await post('links', { relation: 'informs', to: placeCycle }, 'The cycles are linked.');
    await post('closure', { why: 'The phone line is business as usual now' }, 'The cycle is closed.');
    const closed = await until(fs, cycle, 'Learning cycle closed');
    expect(decode(closed.html)).toContain('Do callers after 6pm need a person or a plan? (concluded)');
    expect(closed.html).not.toContain('Record on this cycle');
    expect(closed.html).toMatch(
      new RegExp(`<td>informs</td><th scope="row"><a href="/steward/learning/${placeCycle}">`),
    );

    // Another partner's steward sees the cycle but records nothing on it.
    const mo = await signedIn('move-on-steward');
    const theirs = await mo.get(`/steward/learning/${placeCycle}`);
    expect(theirs.html).not.toContain('Record on this cycle');
    expect(decode(theirs.html)).toContain('Only Fresh Start records on this cycle');
    expect((await mo.get(`/steward/learning/${placeCycle}/nonsense`)).status).toBe(404);
  });

  it('composes a pack, which every other partner’s steward approves before it is published', async () => {
    const fs = await signedIn('fresh-start-steward');
    await fs.get('/steward/packs/new');
    const missing = await fs.submit('/steward/packs', { body: '', from: '2026-01-01', to: '2026-02-01' });
    expect(missing.status).toBe(400);
    expect(missing.html).toContain('value="2026-01-01"');
    const composed = await fs.submit('/steward/packs', {
      body: 'cec',
      from: '2026-01-01',
      to: new Date().toISOString().slice(0, 10),
    });
    expect(composed.status).toBe(200);
    expect(composed.html).toContain('The pack is composed.');
    packPath = new URL(composed.url).pathname;
    expect(packPath).toMatch(/^\/steward\/packs\/[0-9a-f-]{36}$/);
    expect(decode(composed.html)).toContain('1 of 4 approvals: 3 more needed');
    expect(composed.html).not.toContain('Publish the pack');
    expect(composed.html).toContain(`href="${packPath}/pack.html"`);
    const read = await fs.get(`${packPath}/pack.html`);
    expect(read.headers.get('content-type')).toMatch(/^text\/html/);
    expect(read.html).toContain('Evidence for City of Edinburgh Council');

    for (const partner of ['move-on', 'north-edinburgh-arts', 'spartans']) {
      const steward = await signedIn(`${partner}-steward`);
      const page = await steward.get(packPath);
      expect(page.html).toContain('Approve for');
      const approved = await steward.submit(`${packPath}/approval`, {});
      expect(approved.html).toContain('You approved the pack.');
    }
    const ready = await fs.get(packPath);
    expect(ready.html).toContain('Publish the pack');
    const published = await fs.submit(`${packPath}/publication`, {});
    expect(published.html).toContain('The pack is published');
    expect(published.html).toContain('>Published</strong>');
    const list = await fs.get('/steward/packs');
    expect(decode(list.html)).toContain('For City of Edinburgh Council');
  });

  it('declines a pack only with a reason, keeping what was typed otherwise', async () => {
    const fs = await signedIn('fresh-start-steward');
    await fs.get('/steward/packs/new');
    const composed = await fs.submit('/steward/packs', {
      body: 'nhs-lothian',
      from: '2026-01-01',
      to: '2026-06-30',
    });
    const path = new URL(composed.url).pathname;
    const mo = await signedIn('move-on-steward');
    await mo.get(path);
    const empty = await mo.submit(`${path}/declination`, { reason: '' });
    expect(empty.status).toBe(400);
    expect(errorSummary(empty.html)).toEqual([expect.stringMatching(/^Why you decline it/)]);
    const declined = await mo.submit(`${path}/declination`, { reason: 'The period cuts our pilot in half' });
    expect(declined.html).toContain('You declined the pack.');
    expect(decode(declined.html)).toContain('The period cuts our pilot in half');
    expect(declined.html).toContain('>Declined</strong>');
    expect(declined.html).not.toContain('Approve for');
  });

  it('is a page for stewards only', async () => {
    const worker = await signedIn('fresh-start-worker');
    const page = await worker.get('/steward');
    expect(page.status).toBe(403);
  });
});
