import { randomUUID } from 'node:crypto';
import { eventually, harnessState, testBus } from '../../../test/harness';
import { Delivery, deadLetterMatches, listDeadLetters, replayDeadLetters, topicFor } from '../src';

const kind = harnessState().realKafka ? 'Kafka (kcat mock cluster)' : 'the in-process bus (no Kafka here)';

const envelope = (subject: string, type = 'scot.hls.ContactRecorded.v1') => ({
  specversion: '1.0',
  id: randomUUID(),
  source: '/consortia/c/partners/fresh-start',
  type,
  subject,
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  data: {},
  partner: 'fresh-start',
  scale: 'person',
  actor: 'dsw',
  correlationid: randomUUID(),
  streamid: `person-${subject}`,
  streamversion: 0,
  position: 1,
  recordedat: new Date().toISOString(),
});

describe(`dead letters on ${kind}: listed, and replayed after a fix`, () => {
  it('lists each dead letter with its reason and origin, filters them, and replays the chosen ones to their topic once the consumer is fixed', async () => {
    const consortium = `c${randomUUID().slice(0, 8)}`;
    const bus = testBus(consortium);
    const topic = topicFor(consortium, 'person');
    expect(await listDeadLetters(bus)).toEqual([]);

    // A consumer with a bug: it cannot take v2 of ContactRecorded until it is fixed.
    let fixed = false;
    const taken: string[] = [];
    const sub = await bus.subscribe({ groupId: 'reader', topics: [topic] }, async (batch: Delivery[]) => {
      const refused = batch.filter((d) => !fixed && d.event.type.endsWith('.v2'));
      taken.push(...batch.filter((d) => !refused.includes(d)).map((d) => d.event.subject));
      return refused.map((delivery) => ({ delivery, reason: 'ContactRecorded v2 is not known yet' }));
    });
    const messages = [
      { key: 'NE-A', payload: JSON.stringify(envelope('NE-A', 'scot.hls.ContactRecorded.v2')) },
      { key: 'NE-B', payload: 'not json' },
      { key: 'NE-C', payload: JSON.stringify(envelope('NE-C', 'scot.hls.ContactRecorded.v2')) },
      { key: 'NE-D', payload: JSON.stringify(envelope('NE-D')) },
    ];
    await bus.publishRaw(messages.map((m) => ({ topic, ...m })));
    await eventually(async () => (taken.includes('NE-D') ? true : undefined), 'the consumer to go on', 30000);

    const letters = await eventually(
      async () => {
        const l = await listDeadLetters(bus);
        return l.length >= 3 ? l : undefined;
      },
      'three dead letters',
      30000,
    );
    expect(letters).toHaveLength(3);
    expect(letters.map((l) => [l.key, l.groupId, l.topic, l.reason]).sort()).toEqual([
      ['NE-A', 'reader', topic, 'ContactRecorded v2 is not known yet'],
      ['NE-B', 'reader', topic, 'the message is not valid JSON'],
      ['NE-C', 'reader', topic, 'ContactRecorded v2 is not known yet'],
    ]);
    const byKey = new Map(letters.map((l) => [l.key, l]));
    expect(byKey.get('NE-A')?.payload).toBe(messages[0].payload); // the message as it arrived
    expect(byKey.get('NE-B')?.payload).toBe('not json');
    const chosen = (f: Parameters<typeof deadLetterMatches>[1]) =>
      letters.filter((l) => deadLetterMatches(l, f)).map((l) => l.key);
    expect(chosen({ reason: /not known yet/ }).sort()).toEqual(['NE-A', 'NE-C']);
    expect(chosen({ reason: 'JSON', topic })).toEqual(['NE-B']);
    expect(chosen({ groupId: 'someone-else' })).toEqual([]);
    expect(chosen({ since: new Date(Date.now() + 60_000) })).toEqual([]);

    fixed = true;
    const replayed = await replayDeadLetters(bus, { groupId: 'reader', reason: 'not known yet' });
    expect(replayed.map((l) => l.key).sort()).toEqual(['NE-A', 'NE-C']);
    await eventually(
      async () => (taken.includes('NE-A') && taken.includes('NE-C') ? true : undefined),
      'the replayed messages to be taken',
      30000,
    );
    // Listing moved nobody's place, and the replay added no dead letter: the malformed one stays alone.
    await new Promise((r) => setTimeout(r, 300));
    expect(taken.filter((k) => k === 'NE-D')).toHaveLength(1);
    expect((await listDeadLetters(bus)).map((l) => l.key).sort()).toEqual(['NE-A', 'NE-B', 'NE-C']);
    await sub.stop();
    await bus.close();
  }, 60000);
});
