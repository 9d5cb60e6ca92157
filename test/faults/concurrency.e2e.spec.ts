import { personStream, referralStream } from '@app/domain';
import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { eventually } from '../harness';
import { ApiResponse, api, settled, startTestConsortium, tokenFor } from '../harness/consortium';

const CLIENTS = 50;
type Body = Record<string, unknown>;

/**
 * Fifty workers change one record at the same moment. Every append checks the version it read, so one change
 * wins and the others are told (409): no update is lost, and what every view shows is what the store holds.
 */
describe('concurrency: 50 clients on one record', () => {
  let c: RunningConsortium;
  let fs: string;
  let sp: string;
  let fsToken: string;
  const workers: string[] = [];

  const register = async (name: string) => {
    const r = await api(fs, 'POST', '/people', fsToken, {
      name,
      dateOfBirth: '1979-05-06',
      whatMatters: 'Keeping my flat',
    });
    expect(r.status).toBe(201);
    const ref = r.body.personRef as string;
    const consent = await api(fs, 'POST', `/people/${ref}/consents`, fsToken, {
      partners: ['spartans'],
      purposes: ['support', 'referral'],
    });
    expect(consent.status).toBe(201);
    return ref;
  };
  /** Everyone at once: the requests are all on the wire before any answer is read. */
  const all = (send: (worker: number) => Promise<ApiResponse>) =>
    Promise.all(Array.from({ length: CLIENTS }, (_, i) => send(i)));
  const tally = (answers: ApiResponse[]) =>
    answers.reduce<Record<number, number>>((t, a) => {
      t[a.status] = (t[a.status] ?? 0) + 1;
      return t;
    }, {});

  beforeAll(async () => {
    c = await startTestConsortium('real');
    fs = c.partners.get('fresh-start')!.url;
    sp = c.partners.get('spartans')!.url;
    fsToken = await tokenFor(c, 'fresh-start', 'worker', 'fs-amy');
    for (let i = 0; i < CLIENTS; i++) workers.push(await tokenFor(c, 'spartans', 'worker', `coach-${i}`));
  }, 60000);
  afterAll(() => c?.stop());

  it('accepting one referral, round after round: exactly one worker wins each round, the 49 others get 409, and the inbox names the winner', async () => {
    const spartans = c.partners.get('spartans')!.store;
    const winners: { referralId: string; userId: string }[] = [];
    for (let round = 0; round < 3; round++) {
      const ref = await register(`Round ${round}`);
      const asked = await api(fs, 'POST', '/referrals', fsToken, {
        personRef: ref,
        toOrganisation: 'spartans',
        reason: 'Wants to play on Saturdays',
      });
      expect(asked.status).toBe(201);
      const referralId = asked.body.referralId as string;
      await eventually(
        async () => ((await spartans.readStream(referralStream(referralId))).length ? true : undefined),
        `spartans to take in referral ${referralId}`,
      );

      const answers = await all((i) => api(sp, 'POST', `/referrals/${referralId}/acceptance`, workers[i]));
      expect({ round, tally: tally(answers) }).toEqual({ round, tally: { 201: 1, 409: CLIENTS - 1 } });
      for (const a of answers.filter((x) => x.status === 409)) {
        expect(a.contentType).toContain('application/problem+json');
        expect(a.body).toMatchObject({ status: 409, title: 'Conflict' });
      }
      const winner = answers.findIndex((a) => a.status === 201);

      // The store holds one acceptance, by the worker who was told they won.
      const changes = (await spartans.readStream(referralStream(referralId))).filter(
        (e) => e.type === 'ReferralStatusChanged',
      );
      expect(changes.map((e) => [(e.data as Body).status, e.metadata.actor])).toEqual([
        ['accepted', `coach-${winner}`],
      ]);
      // The person was welcomed at spartans once, whoever's request recorded it.
      const welcomes = (await spartans.readStream(personStream(ref))).filter(
        (e) => e.type === 'PersonWelcomed',
      );
      expect(welcomes).toHaveLength(1);
      winners.push({ referralId, userId: `coach-${winner}` });
    }

    await settled(c);
    const inbox = await api(c.projection.url, 'GET', '/referrals/inbox', workers[0]);
    expect(inbox.status).toBe(200);
    for (const w of winners) {
      const shown = (inbox.body.referrals as Body[]).find((r) => r.referralId === w.referralId);
      expect(shown).toMatchObject({ status: 'accepted', assignee: w.userId });
    }
  }, 60000);

  it('revising what matters: every request wins or gets 409, each win is one event in the store and no other write is lost, and both services show the last one', async () => {
    const ref = await register('Many Hands');
    const fsWorkers = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => tokenFor(c, 'fresh-start', 'worker', `dsw-${i}`)),
    );
    const store = c.partners.get('fresh-start')!.store;
    const won: string[] = [];
    for (let round = 0; round < 3; round++) {
      const before = (await store.readStream(personStream(ref))).length;
      const answers = await all((i) =>
        api(fs, 'PUT', `/people/${ref}/what-matters`, fsWorkers[i], { whatMatters: `Round ${round}, ${i}` }),
      );
      const t = tally(answers);
      expect(Object.keys(t).sort()).toEqual(Object.keys(t).length === 1 ? ['200'] : ['200', '409']);
      expect(t[200]).toBeGreaterThanOrEqual(1);
      const after = await store.readStream(personStream(ref));
      // One event per win, by the worker who won; nobody who was told 409 wrote anything.
      const fresh = after.slice(before);
      expect(fresh.map((e) => e.metadata.actor).sort()).toEqual(
        answers.flatMap((a, i) => (a.status === 200 ? [`dsw-${i}`] : [])).sort(),
      );
      won.push(...fresh.map((e) => e.metadata.actor));
    }
    const events = await store.readStream(personStream(ref));
    expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i)); // no gap, no duplicate

    // The partner's record, opened, is the events as stored; the journey view shows the last revision.
    const record = await api(fs, 'GET', `/people/${ref}`, fsToken);
    const recorded = record.body.events as { version: number; by: string; data: Body }[];
    expect(recorded.map((e) => [e.version, e.by])).toEqual(events.map((e) => [e.version, e.metadata.actor]));
    const last = recorded.at(-1) as { by: string; data: Body };
    expect(last.by).toBe(won.at(-1));
    await settled(c);
    // Read with consent (spartans): the latest revision from any partner, not what was said at registration.
    const journey = await api(c.projection.url, 'GET', `/people/${ref}/journey`, workers[0]);
    expect(journey.status).toBe(200);
    expect(journey.body.whatMatters).toBe(last.data.whatMatters);
    const revisions = (journey.body.entries as Body[]).filter((e) => e.type === 'WhatMattersRevised');
    expect(revisions).toHaveLength(won.length);
  }, 60000);
});
