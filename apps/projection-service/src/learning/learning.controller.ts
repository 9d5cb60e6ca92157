import { CYCLE_LINK_INVERSE, CYCLE_SCALES, CycleLinkRelation, ISSUE_OWNERS } from '@app/domain';
import { Actor, Allow, CurrentActor, notFound, parseInput } from '@app/platform';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import { PROJECTION_RUNTIME, ProjectionRuntime } from '../shared/projection-runtime';

const id = z.string().uuid('is not an id of this consortium');
const cycleFilter = z
  .object({
    scale: z.enum(CYCLE_SCALES).optional(),
    stage: z.string().max(60).optional(),
    partner: z.string().max(60).optional(),
  })
  .strict();
const issueFilter = z
  .object({
    level: z.enum(['1', '2', '3']).optional(),
    owner: z.enum(ISSUE_OWNERS).optional(),
    status: z.enum(['open', 'closed']).optional(),
  })
  .strict();

type Row = Record<string, unknown>;

/**
 * Learning across the place: the connected stack of learning cycles (followed both ways), and the issue log
 * as the seed's table, filterable by level, owner and status, each with its history.
 */
@Controller()
export class LearningController {
  constructor(@Inject(PROJECTION_RUNTIME) private readonly runtime: ProjectionRuntime) {}

  @Allow('learning.read')
  @Get('learning-cycles')
  async cycles(@Query() query: unknown, @CurrentActor() actor: Actor) {
    const f = parseInput(cycleFilter, query, 'query');
    // A statutory body sees the learning of the place, not of a partner's teams.
    if (actor.role === 'statutory-reader') f.scale = 'place';
    const rows: Row[] = await this.q(
      `SELECT cycle_id AS "cycleId", title, scale, owner_partner AS "ownerPartner", owner_team AS "ownerTeam", purpose, stage,
              open, experiments, convened_at AS "convenedAt", updated_at AS "updatedAt"
         FROM ${this.schema}.learning_cycles
        WHERE ($1::text IS NULL OR scale = $1) AND ($2::text IS NULL OR stage = $2) AND ($3::text IS NULL OR owner_partner = $3)
        ORDER BY updated_at DESC`,
      [f.scale ?? null, f.stage ?? null, f.partner ?? null],
    );
    const byScale = Object.fromEntries(
      CYCLE_SCALES.map((s) => [s, rows.filter((r) => r.scale === s).length]),
    );
    return { cycles: rows, byScale };
  }

  @Allow('learning.read')
  @Get('learning-cycles/:cycleId')
  async cycle(@Param('cycleId') idParam: string, @CurrentActor() actor: Actor) {
    const cycleId = parseInput(id, idParam, 'cycleId');
    const [cycle] = await this.q(`SELECT * FROM ${this.schema}.learning_cycles WHERE cycle_id = $1`, [
      cycleId,
    ]);
    // A statutory body sees the learning of the place, not of a partner's teams.
    if (!cycle || (actor.role === 'statutory-reader' && cycle.scale !== 'place')) {
      throw notFound(`There is no learning cycle ${cycleId} for you`);
    }
    const links = await this.q<{ from_cycle: string; to_cycle: string; relation: CycleLinkRelation }>(
      `SELECT * FROM ${this.schema}.cycle_links WHERE from_cycle = $1 OR to_cycle = $1`,
      [cycleId],
    );
    return {
      cycle,
      // The connected stack, both ways: what this cycle links to, and what links to it (read in reverse).
      links: links.map((l) =>
        l.from_cycle === cycleId
          ? { cycleId: l.to_cycle, relation: l.relation }
          : { cycleId: l.from_cycle, relation: CYCLE_LINK_INVERSE[l.relation] },
      ),
      history: await this.history('cycle', cycleId),
    };
  }

  @Allow('learning.read')
  @Get('issues')
  async issues(@Query() query: unknown, @CurrentActor() actor: Actor) {
    const f = parseInput(issueFilter, query, 'query');
    const upward = actor.role === 'statutory-reader';
    const rows = await this.q(
      `SELECT issue_id AS "issueId", description, level, owner, status, countermeasure, system_change AS "systemChange",
              what_changed AS "whatChanged", raised_by AS "raisedBy", raised_at AS "raisedAt", updated_at AS "updatedAt"
         FROM ${this.schema}.issues
        WHERE ($1::int IS NULL OR level = $1) AND ($2::text IS NULL OR owner = $2) AND ($3::text IS NULL OR status = $3)
          AND (NOT $4 OR level = 3 OR owner = 'government')
        ORDER BY level DESC, updated_at DESC`,
      [f.level ? Number(f.level) : null, f.owner ?? null, f.status ?? null, upward],
    );
    return { issues: rows };
  }

  @Allow('learning.read')
  @Get('issues/:issueId')
  async issue(@Param('issueId') idParam: string, @CurrentActor() actor: Actor) {
    const issueId = parseInput(id, idParam, 'issueId');
    const [row] = await this.q(`SELECT * FROM ${this.schema}.issues WHERE issue_id = $1`, [issueId]);
    const upward = row && (row.level === 3 || row.owner === 'government');
    if (!row || (actor.role === 'statutory-reader' && !upward))
      throw notFound(`There is no issue ${issueId} for you`);
    return { issue: row, history: await this.history('issue', issueId) };
  }

  private history(kind: string, subject: string) {
    return this.q(
      `SELECT event_type AS "type", partner, scale, actor AS "by", occurred_at AS "at", data
         FROM ${this.schema}.learning_records WHERE subject_kind = $1 AND subject_id = $2 ORDER BY occurred_at, event_id`,
      [kind, subject],
    );
  }

  private q<R = Row>(sql: string, params: unknown[]): Promise<R[]> {
    return this.runtime.dataSource.query(sql, params);
  }

  private get schema(): string {
    return (this.runtime.dataSource.options as { schema: string }).schema;
  }
}
