import { randomUUID } from 'node:crypto';
import { personStream } from '@app/domain';
import { listDeadLetters, MessageBus, replayDeadLetters, toCloudEvent, topicFor } from '@app/messaging';
import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { eventually, testBus } from '../harness';
import { api, readModelChecksum, settled, startTestConsortium, tokenFor } from '../harness/consortium';
import { cleanBuildChecksum, hourAgo, partnerSchemas } from './kit';

/**
 * Poison on the person-scale topic: what the projection cannot take goes to the dead-letter topic with the
 * reason, the projection keeps going, and the dead letters can be listed and replayed once the fault is fixed.
 */
describe('poison messages', () => {
  let c: RunningConsortium;
  let bus: MessageBus;
  let fs: string;
  let token: string;
  let ref: string;
  let group: string;
  const cleanBuild = () => cleanBuildChecksum(c.databaseUrl, c.consortium.id, partnerSchemas(c));
  const journeyTypes = async () =>
    (
      (await c.projection.dataSource.query(
        `SELECT event_type FROM ${c.schemaOf('projection')}.journey_entries WHERE person_ref = $1`,
        [ref],
      )) as { event_type: string }[]
    ).map((r) => r.event_type);

  beforeAll(async () => {
    c = await startTestConsortium('real');
    bus = testBus(c.consortium.id, 'poison-operator');
    fs = c.partners.get('fresh-start')!.url;
    token = await tokenFor(c, 'fresh-start', 'worker', 'dsw-amy');
    const r = await api(fs, 'POST', '/people', token, {
      name: 'Rae Poison',
      dateOfBirth: '1990-03-04',
      whatMatters: 'Quiet',
    });
    expect(r.status).toBe(201);
    ref = r.body.personRef as string;
    await settled(c);
    const [{ generation }] = await c.projection.dataSource.query(
      `SELECT generation FROM ${c.schemaOf('projection')}.projection_state`,
    );
    group = `${c.consortium.id}.projection.g${generation}`;
  }, 60000);
  afterAll(async () => {
    await bus?.close();
    await c?.stop();
  });

  it('malformed, foreign, unknown-version and unknown-type messages are dead-lettered with the reason, and the projection goes on', async () => {
    const [registered] = await c.partners.get('fresh-start')!.store.readStream(personStream(ref));
    const real = toCloudEvent(c.consortium.id, registered);
    const topic = topicFor(c.consortium.id, 'person');
    const poison = [
      '{"truncated": ',
      JSON.stringify({ hello: 'not an event' }),
      JSON.stringify({ ...real, id: randomUUID(), type: 'scot.hls.PersonRegistered.v99' }),
      JSON.stringify({ ...real, id: randomUUID(), type: 'scot.hls.PersonTeleported.v1' }),
    ];
    await bus.publishRaw(poison.map((payload) => ({ topic, key: ref, payload })));
    const contact = await api(fs, 'POST', `/people/${ref}/journey/contacts`, token, {
      kind: 'drop-in',
      occurredAt: hourAgo(),
      durationMinutes: 10,
      notes: 'Came in after the poison',
    });
    expect(contact.status).toBe(201);
    await settled(c);
    expect(await journeyTypes()).toEqual(expect.arrayContaining(['PersonRegistered', 'ContactRecorded']));

    const letters = await eventually(async () => {
      const l = await listDeadLetters(bus, { groupId: group });
      return l.length >= 4 ? l : undefined;
    }, 'four dead letters from the projection');
    expect(letters.map((l) => l.reason).sort()).toEqual(
      [
        'not a platform CloudEvent: specversion is not 1.0',
        'the message is not valid JSON',
        'unknown event type or schema version: scot.hls.PersonRegistered.v99',
        'unknown event type or schema version: scot.hls.PersonTeleported.v1',
      ].sort(),
    );
    expect(letters.map((l) => l.payload).sort()).toEqual([...poison].sort());
    expect(new Set(letters.map((l) => `${l.topic} ${l.key}`))).toEqual(new Set([`${topic} ${ref}`]));
    // Nothing of the poison reached the read models.
    expect(await readModelChecksum(c)).toBe(await cleanBuild());
  }, 60000);

  // An event the projection could not apply is not marked as processed (its processed_events row is taken
  // back with the batch's rejections), so its replay after the fix is applied, not skipped as a redelivery.
  it('an event the projection could not apply is replayed from the dead letters after the fix, and then applied', async () => {
    const schema = c.schemaOf('projection');
    // A fault in applying outcomes (a bug in the projection, here as a trigger on its own table).
    await c.projection.dataSource.query(
      `CREATE FUNCTION ${schema}.outcome_bug() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.event_type = 'OutcomeRecorded' THEN RAISE EXCEPTION 'outcomes cannot be applied'; END IF;
       RETURN NEW; END $$;
       CREATE TRIGGER outcome_bug BEFORE INSERT ON ${schema}.journey_entries
       FOR EACH ROW EXECUTE FUNCTION ${schema}.outcome_bug()`,
    );
    const outcome = await api(fs, 'POST', `/people/${ref}/journey/outcomes`, token, {
      occurredAt: hourAgo(),
      words: 'I have a key to my own door',
    });
    expect(outcome.status).toBe(201);
    const filter = { groupId: group, reason: /could not be applied to the read models/ };
    const [letter] = await eventually(async () => {
      const l = await listDeadLetters(bus, filter);
      return l.length ? l : undefined;
    }, 'the outcome to be dead-lettered');
    expect(letter.reason).toContain('outcomes cannot be applied');
    expect(await journeyTypes()).not.toContain('OutcomeRecorded');

    // The fix, then the replay.
    await c.projection.dataSource.query(`DROP TRIGGER outcome_bug ON ${schema}.journey_entries`);
    expect((await replayDeadLetters(bus, filter)).map((l) => l.key)).toEqual([ref]);
    await eventually(
      async () => ((await journeyTypes()).includes('OutcomeRecorded') ? true : undefined),
      'the replayed outcome in the journey',
      3000,
    );
    expect(await readModelChecksum(c)).toBe(await cleanBuild());
  }, 60000);
});
