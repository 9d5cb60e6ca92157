import { randomUUID } from 'node:crypto';
import { CloudEvent, cloudEventType, Delivery } from '@app/messaging';
import { DataSource } from 'typeorm';
import { harnessState, uniqueSchema } from '../../../test/harness';
import { openReadModels } from '../src/projection-service';
import { project } from '../src/shared/projector';

let position = 0;
function delivery(type: string, data: unknown, subject = 'NE-AAAAAAAAAA', version = 1): Delivery {
  position += 1;
  const event: CloudEvent = {
    specversion: '1.0',
    id: randomUUID(),
    source: '/consortia/test/partners/fresh-start',
    type: cloudEventType(type, version),
    subject,
    time: '2026-11-20T10:00:00.000Z',
    datacontenttype: 'application/json',
    data,
    partner: 'fresh-start',
    scale: 'person',
    actor: 'worker-1',
    correlationid: randomUUID(),
    streamid: `person-${subject}`,
    streamversion: position,
    position,
    recordedat: '2026-11-20T10:00:00.000Z',
  };
  return { topic: 't', partition: 0, offset: String(position), key: subject, event };
}

const contact = (contactId: string) =>
  delivery('ContactRecorded', {
    personRef: 'NE-AAAAAAAAAA',
    contactId,
    kind: 'visit',
    occurredAt: '2026-11-20T09:00:00.000Z',
    durationMinutes: 30,
    notes: null,
  });

describe('the projector', () => {
  let ds: DataSource;
  let schema: string;
  beforeEach(async () => {
    schema = uniqueSchema('proj');
    ds = await openReadModels(harnessState().databaseUrl, schema);
  });
  afterEach(() => ds.destroy());

  const count = async (table: string) =>
    (await ds.query(`SELECT count(*)::int AS n FROM ${schema}.${table}`))[0].n as number;

  it('applies each event once, however often it is delivered', async () => {
    const batch = [contact('c1'), contact('c2')];
    expect(await project(ds, batch)).toEqual([]);
    expect(await project(ds, batch)).toEqual([]);
    expect(await project(ds, [batch[1], batch[0], batch[1]])).toEqual([]);
    expect(await count('journey_entries')).toBe(2);
    expect(
      await ds.query(`SELECT partner, sum(events)::int AS events FROM ${schema}.source_positions GROUP BY 1`),
    ).toEqual([{ partner: 'fresh-start', events: 2 }]);
  });

  it("has the database end a batch's transaction left idle by a stalled instance", async () => {
    const [{ idle_in_transaction_session_timeout: limit }] = await ds.query(
      'SHOW idle_in_transaction_session_timeout',
    );
    expect(limit).toBe('30s');
  });

  it("takes a batch from one partition while another partition's batch holds its rows, and counts both", async () => {
    expect(await project(ds, [contact('p0-first')])).toEqual([]);
    // A batch of partition 0 in flight: it holds its partner's rows until it commits.
    const inFlight = ds.createQueryRunner();
    await inFlight.startTransaction();
    try {
      await inFlight.query(`SELECT * FROM ${schema}.source_positions WHERE slot = 0 FOR UPDATE`);
      await inFlight.query(`SELECT * FROM ${schema}.provenance_blocks WHERE slot = 0 FOR UPDATE`);
      const fromPartition1 = project(ds, [{ ...contact('p1-meanwhile'), partition: 1 }]).then(
        () => 'applied',
      );
      const waited = new Promise((r) => setTimeout(() => r('waited on partition 0'), 5000));
      expect(await Promise.race([fromPartition1, waited])).toBe('applied');
    } finally {
      await inFlight.rollbackTransaction();
      await inFlight.release();
    }
    expect(
      await ds.query(
        `SELECT partner, count(*)::int AS slots, sum(events)::int AS events FROM ${schema}.source_positions GROUP BY 1`,
      ),
    ).toEqual([{ partner: 'fresh-start', slots: 2, events: 2 }]);
    expect(
      await ds.query(`SELECT block, sum(events)::int AS events FROM ${schema}.provenance_blocks GROUP BY 1`),
    ).toEqual([{ block: 0, events: 2 }]);
  });

  it('rejects an unknown type or schema version, with the reason, and applies the rest', async () => {
    const future = delivery('ContactRecorded', {}, 'NE-AAAAAAAAAA', 7);
    const stranger = delivery('SomethingElse', {});
    const good = contact('c3');
    const rejected = await project(ds, [future, good, stranger]);
    expect(rejected.map((r) => [r.delivery.event.id, r.reason])).toEqual([
      [future.event.id, 'unknown event type or schema version: scot.hls.ContactRecorded.v7'],
      [stranger.event.id, 'unknown event type or schema version: scot.hls.SomethingElse.v1'],
    ]);
    expect(await count('journey_entries')).toBe(1);
  });

  it('rejects a known event whose data cannot be applied, and applies the others in its batch', async () => {
    const broken = delivery('ConsentGiven', { personRef: 'NE-AAAAAAAAAA', consentId: 'not-a-uuid' });
    const before = contact('c4');
    const after = contact('c5');
    const rejected = await project(ds, [before, broken, after]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0].delivery.event.id).toBe(broken.event.id);
    expect(rejected[0].reason).toMatch(/^could not be applied to the read models: /);
    expect(await count('journey_entries')).toBe(2);
    expect(await count('consents')).toBe(0);
  });
});
