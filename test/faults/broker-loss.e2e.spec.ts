import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { eventually } from '../harness';
import { api, readModelChecksum, settled, tokenFor } from '../harness/consortium';
import { cleanBuildChecksum, hourAgo, onOwnKafka, partnerSchemas, realKafka, recordWork, sleep } from './kit';

/**
 * The whole Kafka cluster is lost (the mock keeps nothing: every topic, message and offset goes). The relays
 * notice, keep their checkpoints, and publish what was not confirmed to the new cluster once it is configured;
 * the projection resumes on it and ends in the same state as a clean build from the partners' stores.
 */
(realKafka() ? describe : describe.skip)('broker loss', () => {
  const setup = onOwnKafka('loss');

  it('relays keep their checkpoints through the loss and republish what was unconfirmed; the resumed projection equals a clean build', async () => {
    const [c, kafka] = [setup.c(), setup.kafka()];
    await recordWork(c, 'before', 2);
    await settled(c);
    const relays = [...c.partners.values()].map((p) => p.relay);
    const publishedBefore = relays.map((r) => r.publishedCount);

    kafka.kill();
    // Partners go on recording (a referral waits for the other side, so only what needs no backbone here).
    const fs = c.partners.get('fresh-start')!;
    const during = await recordDuringLoss(c);
    await sleep(1500);
    // Nothing recorded in the loss was confirmed: the relays have not moved past it.
    expect(relays.map((r) => r.publishedCount)).toEqual(publishedBefore);
    const [{ position }] = await c.projection.dataSource.query(
      `SELECT position FROM ${c.schemaOf('partner_fresh-start')}.relay_checkpoints`,
    );
    expect(position).toBeLessThan(during.firstPosition);

    await kafka.replace();
    // The relays find the new cluster by themselves and publish what the old one never confirmed.
    await eventually(
      async () => (fs.relay.publishedCount > publishedBefore[0] ? true : undefined),
      'the fresh-start relay to publish to the new cluster',
      30000,
    );
    await recordWork(c, 'after', 1);
    await eventually(() => settled(c), 'the projection to take everything', 45000);
    expect(await readModelChecksum(c)).toBe(
      await cleanBuildChecksum(c.databaseUrl, c.consortium.id, partnerSchemas(c)),
    );
  }, 120000);
});

/** A person registered and worked with at fresh-start while there is no cluster; answers where it began. */
async function recordDuringLoss(c: RunningConsortium): Promise<{ firstPosition: number }> {
  const fs = c.partners.get('fresh-start')!;
  const token = await tokenFor(c, 'fresh-start', 'worker', 'dsw-loss');
  const r = await api(fs.url, 'POST', '/people', token, {
    name: 'Lost Cluster',
    dateOfBirth: '1960-06-06',
    whatMatters: 'z',
  });
  expect(r.status).toBe(201);
  const ref = r.body.personRef as string;
  for (let i = 0; i < 5; i++) {
    const contact = await api(fs.url, 'POST', `/people/${ref}/journey/contacts`, token, {
      kind: 'visit',
      occurredAt: hourAgo(),
      durationMinutes: 20,
      notes: `In the loss ${i}`,
    });
    expect(contact.status).toBe(201);
  }
  const [first] = await fs.store.readStream(`person-${ref}`);
  return { firstPosition: first.position };
}
