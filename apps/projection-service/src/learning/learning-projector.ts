import { IssueEvent, LearningCycleEvent, TeamReflectionEvent, unreachable } from '@app/domain';
import { CloudEvent } from '@app/messaging';
import { EntityManager } from 'typeorm';

/**
 * Learning at four scales, as read models: every learning event in `learning_records` (the history of each
 * cycle, session and issue), and the current state of cycles, their links and the issue log for listing.
 * None of it is personal: learning is about the system, and a person's own story stays on their journey.
 */
export const LEARNING_MIGRATION = `
  CREATE TABLE {schema}.learning_records (
    event_id uuid PRIMARY KEY, subject_kind text NOT NULL, subject_id text NOT NULL, partner text NOT NULL,
    scale text NOT NULL, event_type text NOT NULL, occurred_at timestamptz NOT NULL, actor text NOT NULL, data jsonb NOT NULL);
  CREATE INDEX learning_records_subject ON {schema}.learning_records (subject_kind, subject_id, occurred_at);
  CREATE TABLE {schema}.learning_cycles (
    cycle_id text PRIMARY KEY, title text NOT NULL, scale text NOT NULL, owner_partner text NOT NULL, owner_team text,
    convened_by text NOT NULL, purpose text, stage text NOT NULL, open boolean NOT NULL, experiments int NOT NULL DEFAULT 0,
    convened_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
  CREATE TABLE {schema}.cycle_links (
    from_cycle text NOT NULL, to_cycle text NOT NULL, relation text NOT NULL, PRIMARY KEY (from_cycle, to_cycle, relation));
  CREATE TABLE {schema}.issues (
    issue_id text PRIMARY KEY, description text NOT NULL, level int NOT NULL, owner text NOT NULL, status text NOT NULL,
    countermeasure text, system_change text, what_changed text, raised_by text NOT NULL, raised_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL);`;

/** What the consortium asked of each statutory body, and what became of it. */
export const ISSUE_ASKS_MIGRATION = `
  CREATE TABLE {schema}.issue_asks (
    ask_id text PRIMARY KEY, issue_id text NOT NULL, body text NOT NULL, ask text NOT NULL, asked_at timestamptz NOT NULL,
    outcome text, response text, answered_at timestamptz);
  CREATE INDEX issue_asks_body ON {schema}.issue_asks (body, asked_at);`;

export const LEARNING_TABLES = ['learning_records', 'learning_cycles', 'cycle_links', 'issues', 'issue_asks'];

type LearningEvent = LearningCycleEvent | TeamReflectionEvent | IssueEvent;

/** The stage a cycle is at after each of its events, in the seed's words. */
const STAGE: Partial<Record<LearningCycleEvent['type'], string>> = {
  CyclePurposeSet: 'purpose',
  SystemUnderstandingRecorded: 'understanding the system',
  ExperimentDesigned: 'co-designing experiments',
  ExperimentStarted: 'experimenting',
  ExperimentLearningRecorded: 'experimenting',
  ExperimentConcluded: 'experimenting',
  EmbeddingRecorded: 'embedding',
  InfluencingRecorded: 'influencing',
  CycleManagementRecorded: 'managing',
  CycleGovernanceRecorded: 'governing',
  LearningCycleClosed: 'closed',
};

function timeOf(data: object): string {
  const d = data as Record<string, unknown>;
  const key = Object.keys(d).find((k) => k.endsWith('At') && typeof d[k] === 'string');
  return (key ? d[key] : new Date().toISOString()) as string;
}

export async function applyLearning(
  em: EntityManager,
  schema: string,
  ce: CloudEvent,
  event: LearningEvent,
): Promise<void> {
  const at = timeOf(event.data);
  const [kind, id] =
    'cycleId' in event.data
      ? ['cycle', event.data.cycleId]
      : 'issueId' in event.data
        ? ['issue', event.data.issueId]
        : ['team-reflection', event.data.team];
  await em.query(
    `INSERT INTO ${schema}.learning_records (event_id, subject_kind, subject_id, partner, scale, event_type, occurred_at, actor, data)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [ce.id, kind, id, ce.partner, ce.scale, event.type, at, ce.actor, JSON.stringify(event.data)],
  );
  const q = (sql: string, params: unknown[]) => em.query(sql, params);
  switch (event.type) {
    case 'LearningCycleConvened': {
      const d = event.data;
      await q(
        `INSERT INTO ${schema}.learning_cycles (cycle_id, title, scale, owner_partner, owner_team, convened_by, stage, open,
           convened_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'convened', true, $7, $7)`,
        [d.cycleId, d.title, d.cycleScale, d.owner.partner, d.owner.team ?? null, d.convenedBy, at],
      );
      return;
    }
    case 'CyclesLinked': {
      const { from, to, relation } = event.data.link;
      await q(`INSERT INTO ${schema}.cycle_links VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
        from,
        to,
        relation,
      ]);
      return;
    }
    case 'CyclePurposeSet':
    case 'SystemUnderstandingRecorded':
    case 'ExperimentDesigned':
    case 'ExperimentStarted':
    case 'ExperimentLearningRecorded':
    case 'ExperimentConcluded':
    case 'EmbeddingRecorded':
    case 'InfluencingRecorded':
    case 'CycleManagementRecorded':
    case 'CycleGovernanceRecorded':
    case 'LearningCycleClosed':
      await q(
        `UPDATE ${schema}.learning_cycles SET stage = $2, updated_at = $3, open = $4,
           purpose = coalesce($5, purpose), experiments = experiments + $6 WHERE cycle_id = $1`,
        [
          event.data.cycleId,
          STAGE[event.type],
          at,
          event.type !== 'LearningCycleClosed',
          event.type === 'CyclePurposeSet' ? event.data.purpose : null,
          event.type === 'ExperimentDesigned' ? 1 : 0,
        ],
      );
      return;
    case 'ReflectiveSessionHeld':
      return; // its record above is the whole of it
    case 'IssueRaised': {
      const d = event.data;
      await q(
        `INSERT INTO ${schema}.issues (issue_id, description, level, owner, status, raised_by, raised_at, updated_at)
         VALUES ($1, $2, $3, $4, 'open', $5, $6, $6)`,
        [d.issueId, d.description, d.level, d.owner, ce.partner, at],
      );
      return;
    }
    case 'IssueCountermeasureSet':
      await q(`UPDATE ${schema}.issues SET countermeasure = $2, updated_at = $3 WHERE issue_id = $1`, [
        event.data.issueId,
        event.data.countermeasure,
        at,
      ]);
      return;
    case 'IssueSystemChangeSet':
      await q(`UPDATE ${schema}.issues SET system_change = $2, updated_at = $3 WHERE issue_id = $1`, [
        event.data.issueId,
        event.data.systemChange,
        at,
      ]);
      return;
    case 'IssueEscalated':
      await q(`UPDATE ${schema}.issues SET level = $2, owner = $3, updated_at = $4 WHERE issue_id = $1`, [
        event.data.issueId,
        event.data.toLevel,
        event.data.toOwner,
        at,
      ]);
      return;
    case 'IssueAskMade': {
      const d = event.data;
      await q(
        `INSERT INTO ${schema}.issue_asks (ask_id, issue_id, body, ask, asked_at) VALUES ($1, $2, $3, $4, $5)`,
        [d.askId, d.issueId, d.body, d.ask, d.askedAt],
      );
      return;
    }
    case 'IssueAskAnswered': {
      const d = event.data;
      await q(
        `UPDATE ${schema}.issue_asks SET outcome = $2, response = $3, answered_at = $4 WHERE ask_id = $1`,
        [d.askId, d.outcome, d.response, d.answeredAt],
      );
      return;
    }
    case 'IssueEvidenceLinked':
      return;
    case 'IssueClosed':
      await q(
        `UPDATE ${schema}.issues SET status = 'closed', what_changed = $2, updated_at = $3 WHERE issue_id = $1`,
        [event.data.issueId, event.data.whatChanged, at],
      );
      return;
    case 'IssueReopened':
      await q(`UPDATE ${schema}.issues SET status = 'open', updated_at = $2 WHERE issue_id = $1`, [
        event.data.issueId,
        at,
      ]);
      return;
    default:
      return unreachable(event);
  }
}
