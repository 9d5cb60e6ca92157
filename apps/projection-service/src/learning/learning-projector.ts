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

type Row = Record<string, unknown>;

/** A change to a cycle convened before this batch: the last stage wins, experiments designed add up. */
interface CycleChange {
  stage: string;
  updated_at: string;
  open: boolean;
  purpose: string | null;
  experiments: number;
}

/**
 * A batch's learning writes, gathered and made a statement per table (as the projector does for the other read
 * models): a rebuild is bound by round trips. Several changes to one cycle, issue or ask in a batch are folded
 * here as applying them one after another would leave the row. Where that cannot be said without the table (a
 * cycle, issue or ask added again after changes to it in the same batch), what is gathered is written first.
 */
export class LearningWrites {
  private records: Row[] = [];
  /** Convened in this batch. */
  private cycles = new Map<string, Row>();
  /** Changes to cycles convened before this batch. */
  private cycleChanges = new Map<string, CycleChange>();
  private links = new Map<string, Row>();
  private issues = new Map<string, Row>();
  /** Changes to issues raised before this batch: only the columns changed. */
  private issueChanges = new Map<string, Row>();
  private asks = new Map<string, Row>();
  private askAnswers = new Map<string, Row>();

  constructor(
    private readonly em: Pick<EntityManager, 'query'>,
    private readonly schema: string,
  ) {}

  async apply(ce: CloudEvent, event: LearningEvent): Promise<void> {
    const at = timeOf(event.data);
    const [kind, id] =
      'cycleId' in event.data
        ? ['cycle', event.data.cycleId]
        : 'issueId' in event.data
          ? ['issue', event.data.issueId]
          : ['team-reflection', event.data.team];
    this.records.push({
      event_id: ce.id,
      subject_kind: kind,
      subject_id: id,
      partner: ce.partner,
      scale: ce.scale,
      event_type: event.type,
      occurred_at: at,
      actor: ce.actor,
      data: event.data,
    });
    switch (event.type) {
      case 'LearningCycleConvened': {
        const d = event.data;
        if (this.cycles.has(d.cycleId) || this.cycleChanges.has(d.cycleId)) await this.flush();
        this.cycles.set(d.cycleId, {
          cycle_id: d.cycleId,
          title: d.title,
          scale: d.cycleScale,
          owner_partner: d.owner.partner,
          owner_team: d.owner.team ?? null,
          convened_by: d.convenedBy,
          purpose: null,
          stage: 'convened',
          open: true,
          experiments: 0,
          convened_at: at,
          updated_at: at,
        });
        return;
      }
      case 'CyclesLinked': {
        const { from, to, relation } = event.data.link;
        this.links.set(JSON.stringify([from, to, relation]), { from_cycle: from, to_cycle: to, relation });
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
      case 'LearningCycleClosed': {
        const cycleId = event.data.cycleId;
        const change: CycleChange = {
          stage: STAGE[event.type] as string,
          updated_at: at,
          open: event.type !== 'LearningCycleClosed',
          purpose: event.type === 'CyclePurposeSet' ? event.data.purpose : null,
          experiments: event.type === 'ExperimentDesigned' ? 1 : 0,
        };
        const before = this.cycles.get(cycleId) ?? this.cycleChanges.get(cycleId);
        if (!before) {
          this.cycleChanges.set(cycleId, change);
          return;
        }
        Object.assign(before, {
          stage: change.stage,
          updated_at: change.updated_at,
          open: change.open,
          purpose: change.purpose ?? before.purpose,
          experiments: (before.experiments as number) + change.experiments,
        });
        return;
      }
      case 'ReflectiveSessionHeld':
        return; // its record above is the whole of it
      case 'IssueRaised': {
        const d = event.data;
        if (this.issues.has(d.issueId) || this.issueChanges.has(d.issueId)) await this.flush();
        this.issues.set(d.issueId, {
          issue_id: d.issueId,
          description: d.description,
          level: d.level,
          owner: d.owner,
          status: 'open',
          countermeasure: null,
          system_change: null,
          what_changed: null,
          raised_by: ce.partner,
          raised_at: at,
          updated_at: at,
        });
        return;
      }
      case 'IssueCountermeasureSet':
        return this.changeIssue(event.data.issueId, {
          countermeasure: event.data.countermeasure,
          updated_at: at,
        });
      case 'IssueSystemChangeSet':
        return this.changeIssue(event.data.issueId, {
          system_change: event.data.systemChange,
          updated_at: at,
        });
      case 'IssueEscalated':
        return this.changeIssue(event.data.issueId, {
          level: event.data.toLevel,
          owner: event.data.toOwner,
          updated_at: at,
        });
      case 'IssueClosed':
        return this.changeIssue(event.data.issueId, {
          status: 'closed',
          what_changed: event.data.whatChanged,
          updated_at: at,
        });
      case 'IssueReopened':
        return this.changeIssue(event.data.issueId, { status: 'open', updated_at: at });
      case 'IssueAskMade': {
        const d = event.data;
        if (this.asks.has(d.askId) || this.askAnswers.has(d.askId)) await this.flush();
        this.asks.set(d.askId, {
          ask_id: d.askId,
          issue_id: d.issueId,
          body: d.body,
          ask: d.ask,
          asked_at: d.askedAt,
          outcome: null,
          response: null,
          answered_at: null,
        });
        return;
      }
      case 'IssueAskAnswered': {
        const d = event.data;
        const answer = { outcome: d.outcome, response: d.response, answered_at: d.answeredAt };
        const ask = this.asks.get(d.askId);
        if (ask) Object.assign(ask, answer);
        else this.askAnswers.set(d.askId, { ask_id: d.askId, ...answer });
        return;
      }
      case 'IssueEvidenceLinked':
        return;
      default:
        return unreachable(event);
    }
  }

  private changeIssue(issueId: string, values: Row): void {
    // A value left out is set to null, as a statement's parameter would be.
    const change = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v ?? null]));
    const row = this.issues.get(issueId) ?? this.issueChanges.get(issueId);
    if (row) Object.assign(row, change);
    else this.issueChanges.set(issueId, { issue_id: issueId, ...change });
  }

  discard(): void {
    this.records = [];
    for (const m of [
      this.cycles,
      this.cycleChanges,
      this.links,
      this.issues,
      this.issueChanges,
      this.asks,
      this.askAnswers,
    ])
      m.clear();
  }

  async flush(): Promise<void> {
    const s = this.schema;
    const rows = async (sql: string, list: Iterable<Row>) => {
      const all = [...list];
      if (all.length) await this.em.query(sql, [JSON.stringify(all)]);
    };
    await rows(
      `INSERT INTO ${s}.learning_records (event_id, subject_kind, subject_id, partner, scale, event_type, occurred_at, actor, data)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(event_id uuid, subject_kind text, subject_id text, partner text,
         scale text, event_type text, occurred_at timestamptz, actor text, data jsonb)`,
      this.records,
    );
    await rows(
      `INSERT INTO ${s}.learning_cycles (cycle_id, title, scale, owner_partner, owner_team, convened_by, purpose, stage,
         open, experiments, convened_at, updated_at)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(cycle_id text, title text, scale text, owner_partner text,
         owner_team text, convened_by text, purpose text, stage text, open boolean, experiments int,
         convened_at timestamptz, updated_at timestamptz)`,
      this.cycles.values(),
    );
    await rows(
      `UPDATE ${s}.learning_cycles c SET stage = x.stage, updated_at = x.updated_at, open = x.open,
              purpose = coalesce(x.purpose, c.purpose), experiments = c.experiments + x.experiments
         FROM jsonb_to_recordset($1::jsonb) AS x(cycle_id text, stage text, updated_at timestamptz, open boolean,
           purpose text, experiments int)
        WHERE c.cycle_id = x.cycle_id`,
      [...this.cycleChanges].map(([cycle_id, change]) => ({ cycle_id, ...change })),
    );
    await rows(
      `INSERT INTO ${s}.cycle_links (from_cycle, to_cycle, relation)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(from_cycle text, to_cycle text, relation text)
       ON CONFLICT DO NOTHING`,
      this.links.values(),
    );
    await rows(
      `INSERT INTO ${s}.issues (issue_id, description, level, owner, status, countermeasure, system_change, what_changed,
         raised_by, raised_at, updated_at)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(issue_id text, description text, level int, owner text,
         status text, countermeasure text, system_change text, what_changed text, raised_by text,
         raised_at timestamptz, updated_at timestamptz)`,
      this.issues.values(),
    );
    // Only the columns each issue's changes set (a key present, even with null, is set).
    const set = (column: string, type = 'text') =>
      `${column} = CASE WHEN x ? '${column}' THEN (x->>'${column}')::${type} ELSE i.${column} END`;
    await rows(
      `UPDATE ${s}.issues i SET ${set('countermeasure')}, ${set('system_change')}, ${set('level', 'int')},
              ${set('owner')}, ${set('status')}, ${set('what_changed')}, ${set('updated_at', 'timestamptz')}
         FROM jsonb_array_elements($1::jsonb) AS x
        WHERE i.issue_id = x->>'issue_id'`,
      this.issueChanges.values(),
    );
    await rows(
      `INSERT INTO ${s}.issue_asks (ask_id, issue_id, body, ask, asked_at, outcome, response, answered_at)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(ask_id text, issue_id text, body text, ask text,
         asked_at timestamptz, outcome text, response text, answered_at timestamptz)`,
      this.asks.values(),
    );
    await rows(
      `UPDATE ${s}.issue_asks a SET outcome = x.outcome, response = x.response, answered_at = x.answered_at
         FROM jsonb_to_recordset($1::jsonb) AS x(ask_id text, outcome text, response text, answered_at timestamptz)
        WHERE a.ask_id = x.ask_id`,
      this.askAnswers.values(),
    );
    this.discard();
  }
}
