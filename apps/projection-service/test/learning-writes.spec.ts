import { randomUUID } from 'node:crypto';
import { CloudEvent, cloudEventType, Delivery } from '@app/messaging';
import { DataSource } from 'typeorm';
import { harnessState, uniqueSchema } from '../../../test/harness';
import { openReadModels } from '../src/projection-service';
import { project } from '../src/shared/projector';

let position = 0;
let minute = 0;
function delivery(type: string, data: Record<string, unknown>): Delivery {
  position += 1;
  minute += 1;
  const at = new Date(Date.UTC(2026, 10, 20, 10, minute)).toISOString();
  // Each event's own time field (the projector takes the first `…At` it finds).
  const stamped = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v === 'AT' ? at : v]));
  const event: CloudEvent = {
    specversion: '1.0',
    id: randomUUID(),
    source: '/consortia/test/partners/fresh-start',
    type: cloudEventType(type, 1),
    subject: String(data.cycleId ?? data.issueId ?? data.team),
    time: at,
    datacontenttype: 'application/json',
    data: stamped,
    partner: 'fresh-start',
    scale: 'team',
    actor: 'lead-1',
    correlationid: randomUUID(),
    streamid: `learning-${position}`,
    streamversion: position,
    position,
    recordedat: at,
  };
  return { topic: 't', partition: 0, offset: String(position), key: event.subject, event };
}

const cycle = (cycleId: string) => ({ cycleId, cycleScale: 'team' });
const convened = (cycleId: string) =>
  delivery('LearningCycleConvened', {
    ...cycle(cycleId),
    title: `Cycle ${cycleId}`,
    owner: { partner: 'fresh-start', team: 'east' },
    convenedBy: 'lead-1',
    convenedAt: 'AT',
  });
const purpose = (cycleId: string, text: string) =>
  delivery('CyclePurposeSet', { ...cycle(cycleId), purpose: text, setAt: 'AT' });
const designed = (cycleId: string, experimentId: string) =>
  delivery('ExperimentDesigned', {
    ...cycle(cycleId),
    experimentId,
    hypothesis: 'a call first',
    designedAt: 'AT',
  });
const closed = (cycleId: string) =>
  delivery('LearningCycleClosed', { ...cycle(cycleId), why: 'done', closedAt: 'AT' });
const linked = (from: string, to: string) =>
  delivery('CyclesLinked', { ...cycle(from), link: { from, to, relation: 'informs' }, linkedAt: 'AT' });
const raised = (issueId: string) =>
  delivery('IssueRaised', {
    issueId,
    description: `Issue ${issueId}`,
    level: 1,
    owner: 'team',
    raisedFrom: { kind: 'cycle', cycleId: 'A' },
    evidence: [],
    raisedAt: 'AT',
  });
const escalated = (issueId: string) =>
  delivery('IssueEscalated', {
    issueId,
    fromLevel: 1,
    toLevel: 2,
    fromOwner: 'team',
    toOwner: 'consortium',
    reason: 'beyond the team',
    escalatedAt: 'AT',
  });
const countermeasure = (issueId: string, text: string) =>
  delivery('IssueCountermeasureSet', { issueId, countermeasure: text, setAt: 'AT' });
const issueClosed = (issueId: string) =>
  delivery('IssueClosed', { issueId, whatChanged: 'the rota', closedAt: 'AT' });
const reopened = (issueId: string) =>
  delivery('IssueReopened', { issueId, reason: 'back again', reopenedAt: 'AT' });
const asked = (issueId: string, askId: string) =>
  delivery('IssueAskMade', { issueId, askId, body: 'council', ask: 'a named contact', askedAt: 'AT' });
const answered = (issueId: string, askId: string, outcome: string) =>
  delivery('IssueAskAnswered', {
    issueId,
    askId,
    body: 'council',
    outcome,
    response: `answer ${outcome}`,
    answeredAt: 'AT',
  });

/**
 * The projector gathers a batch's learning writes and makes them a statement per table, folding several changes
 * to one cycle, issue or ask. Whatever the batch, the tables must be what applying the events one at a time
 * leaves.
 */
describe('learning read models, written a batch at a time', () => {
  const databaseUrl = () => harnessState().databaseUrl;
  let one: DataSource;
  let each: DataSource;
  const schemas = new Map<DataSource, string>();
  beforeAll(async () => {
    for (const name of ['learn_one', 'learn_each']) {
      const schema = uniqueSchema(name);
      const ds = await openReadModels(databaseUrl(), schema);
      schemas.set(ds, schema);
      if (name === 'learn_one') one = ds;
      else each = ds;
    }
  });
  afterAll(async () => {
    await one?.destroy();
    await each?.destroy();
  });

  const tables = async (ds: DataSource) => {
    const schema = schemas.get(ds) as string;
    const rows = (sql: string) => ds.query(sql.replaceAll('{s}', schema));
    return {
      records: await rows(
        `SELECT event_id, subject_kind, subject_id, partner, scale, event_type, occurred_at, actor, data
           FROM {s}.learning_records ORDER BY event_id`,
      ),
      cycles: await rows('SELECT * FROM {s}.learning_cycles ORDER BY cycle_id'),
      links: await rows('SELECT * FROM {s}.cycle_links ORDER BY 1, 2, 3'),
      issues: await rows('SELECT * FROM {s}.issues ORDER BY issue_id'),
      asks: await rows('SELECT * FROM {s}.issue_asks ORDER BY ask_id'),
    };
  };

  it('leaves the tables as applying the events one at a time does', async () => {
    const earlier = [convened('A'), raised('X'), asked('X', 'k1')];
    const batch = [
      // A cycle convened before the batch, changed several times in it.
      purpose('A', 'fewer doors'),
      designed('A', 'e1'),
      designed('A', 'e2'),
      purpose('A', 'one door'),
      // One convened and taken through to its close within the batch.
      convened('B'),
      designed('B', 'e3'),
      purpose('B', 'listen first'),
      closed('B'),
      linked('A', 'B'),
      linked('A', 'B'),
      // A change to a cycle not yet convened is lost, as it is when applied alone; then it is convened.
      designed('C', 'e4'),
      convened('C'),
      designed('C', 'e5'),
      // An issue raised before the batch, and one raised in it, each changed in turn.
      countermeasure('X', 'a shared rota'),
      escalated('X'),
      issueClosed('X'),
      reopened('X'),
      countermeasure('X', 'a second rota'),
      raised('Y'),
      escalated('Y'),
      issueClosed('Y'),
      delivery('IssueEvidenceLinked', {
        issueId: 'Y',
        link: { kind: 'cycle', cycleId: 'B' },
        linkedAt: 'AT',
      }),
      // Asks: one made before and answered twice in the batch, one made and answered in it, one left open.
      answered('X', 'k1', 'declined'),
      answered('X', 'k1', 'agreed'),
      asked('Y', 'k2'),
      answered('Y', 'k2', 'agreed'),
      asked('Y', 'k3'),
      delivery('ReflectiveSessionHeld', {
        team: 'east',
        sessionId: 's1',
        heldAt: 'AT',
        whatWeNoticed: 'queues',
      }),
    ];
    expect(await project(one, earlier)).toEqual([]);
    expect(await project(one, batch)).toEqual([]);
    for (const d of [...earlier, ...batch]) expect(await project(each, [d])).toEqual([]);

    const batched = await tables(one);
    expect(batched).toEqual(await tables(each));
    expect(batched.records).toHaveLength(earlier.length + batch.length);
    expect(
      batched.cycles.map((c: { cycle_id: string; experiments: number }) => [c.cycle_id, c.experiments]),
    ).toEqual([
      ['A', 2],
      ['B', 1],
      ['C', 1],
    ]);
    expect(batched.issues.map((i: { issue_id: string; status: string }) => [i.issue_id, i.status])).toEqual([
      ['X', 'open'],
      ['Y', 'closed'],
    ]);
    expect(batched.links).toHaveLength(1);
  });
});
