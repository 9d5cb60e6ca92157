import { wellbeingChange } from '@app/domain';
import { Allow, badRequest, parseInput } from '@app/platform';
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { z } from 'zod';
import { PROJECTION_RUNTIME, ProjectionRuntime } from '../shared/projection-runtime';

const period = z
  .object({
    from: z.string().date('must be a date as YYYY-MM-DD'),
    to: z.string().date('must be a date as YYYY-MM-DD'),
  })
  .strict();

type Row = Record<string, unknown>;
const DAY_MS = 86400_000;

/**
 * What the system stewards see across the place for a period: aggregates only, never a person. People and
 * contacts by partner, referral flows (counts, acceptance, time to first contact, the closed loop), the themes
 * people bring and how they co-occur, cost and effort per journey, wellbeing change, learning by scale and
 * stage, and the issue log.
 */
@Controller('place')
export class PlaceController {
  constructor(@Inject(PROJECTION_RUNTIME) private readonly runtime: ProjectionRuntime) {}

  @Allow('place.read')
  @Get()
  async place(@Query() query: unknown) {
    const { from, to } = parseInput(period, query, 'query');
    if (to < from)
      throw badRequest('The period ends before it starts', [
        { field: 'to', reason: 'must not be before from' },
      ]);
    const range = [new Date(`${from}T00:00:00Z`), new Date(Date.parse(`${to}T00:00:00Z`) + DAY_MS)];
    const s = (this.runtime.dataSource.options as { schema: string }).schema;
    const q = (sql: string, params: unknown[] = range): Promise<Row[]> =>
      this.runtime.dataSource.query(sql, params);
    const inPeriod = 'occurred_at >= $1 AND occurred_at < $2';

    const byPartner = await q(
      `SELECT partner,
              count(DISTINCT person_ref)::int AS "peopleSupported",
              count(*) FILTER (WHERE event_type = 'ContactRecorded')::int AS contacts,
              count(*) FILTER (WHERE event_type = 'ContactRecorded' AND details->>'kind' = 'visit')::int AS visits,
              count(*) FILTER (WHERE event_type = 'ContactRecorded' AND details->>'kind' = 'phone-call')::int AS calls,
              coalesce(sum((details->>'durationMinutes')::int) FILTER (WHERE event_type = 'ContactRecorded'), 0)::int AS "contactMinutes",
              coalesce(sum((details->>'costPence')::int) FILTER (WHERE event_type = 'SupportGiven'), 0)::int AS "costPence"
         FROM ${s}.journey_entries WHERE ${inPeriod} GROUP BY partner ORDER BY partner`,
    );
    const flows = await q(
      `SELECT from_partner AS "from", to_organisation AS "to", count(*)::int AS referrals,
              count(*) FILTER (WHERE status NOT IN ('requested', 'rejected', 'entered-in-error', 'cancelled'))::int AS accepted,
              count(*) FILTER (WHERE status IN ('completed', 'rejected', 'failed', 'cancelled'))::int AS "closedLoop",
              round(avg(extract(epoch FROM first_contact_at - requested_at) / 86400)::numeric, 1)::float AS "daysToFirstContact"
         FROM ${s}.referrals WHERE requested_at >= $1 AND requested_at < $2 AND status <> 'entered-in-error'
        GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    const people = await q(`SELECT DISTINCT person_ref FROM ${s}.journey_entries WHERE ${inPeriod}`);
    const refs = people.map((p) => p.person_ref);
    const themes = await q(`SELECT themes FROM ${s}.person_summaries WHERE person_ref = ANY($1)`, [refs]);
    const themeCounts = new Map<string, number>();
    const pairs = new Map<string, number>();
    for (const { themes: t } of themes as { themes: string[] }[]) {
      const sorted = [...t].sort();
      for (const a of sorted) themeCounts.set(a, (themeCounts.get(a) ?? 0) + 1);
      for (let i = 0; i < sorted.length; i++)
        for (let j = i + 1; j < sorted.length; j++)
          pairs.set(`${sorted[i]}|${sorted[j]}`, (pairs.get(`${sorted[i]}|${sorted[j]}`) ?? 0) + 1);
    }
    const perJourney = await q(
      `SELECT count(*)::int AS journeys,
              coalesce(round(avg(cost) / 100.0, 2), 0)::float AS "averageCostPounds",
              coalesce(round(avg(visits), 1), 0)::float AS "averageVisits",
              coalesce(round(avg(calls), 1), 0)::float AS "averageCalls"
         FROM (SELECT person_ref,
                      coalesce(sum((details->>'costPence')::int) FILTER (WHERE event_type = 'SupportGiven'), 0) AS cost,
                      count(*) FILTER (WHERE event_type = 'ContactRecorded' AND details->>'kind' = 'visit') AS visits,
                      count(*) FILTER (WHERE event_type = 'ContactRecorded' AND details->>'kind' = 'phone-call') AS calls
                 FROM ${s}.journey_entries WHERE ${inPeriod} GROUP BY person_ref) j`,
    );
    const measures = await q(
      `SELECT person_ref, occurred_at AS at, (details->>'metric')::float AS metric
         FROM ${s}.journey_entries WHERE event_type = 'WellbeingMeasured' AND ${inPeriod}`,
    );
    const threshold = this.runtime.consortium.wellbeing.swemwbs.meaningfulChange;
    const byPerson = new Map<string, { at: string; metric: number }[]>();
    for (const m of measures) {
      const list = byPerson.get(m.person_ref as string) ?? [];
      list.push({ at: (m.at as Date).toISOString(), metric: m.metric as number });
      byPerson.set(m.person_ref as string, list);
    }
    const changes = [...byPerson.values()]
      .map((ms) => wellbeingChange(ms, threshold))
      .filter((c) => c !== null);
    const learning = await q(
      `SELECT scale, stage, count(*)::int AS cycles FROM ${s}.learning_cycles GROUP BY 1, 2 ORDER BY 1, 2`,
      [],
    );
    const issues = await q(
      `SELECT level, owner, status, count(*)::int AS issues FROM ${s}.issues GROUP BY 1, 2, 3 ORDER BY 1 DESC, 2, 3`,
      [],
    );
    return {
      period: { from, to },
      peopleSupported: refs.length,
      byPartner,
      referralFlows: flows,
      themes: [...themeCounts]
        .map(([theme, people]) => ({ theme, people }))
        .sort((a, b) => b.people - a.people),
      themesTogether: [...pairs]
        .map(([k, people]) => ({ themes: k.split('|'), people }))
        .sort((a, b) => b.people - a.people),
      perJourney: perJourney[0],
      wellbeing: {
        measured: changes.length,
        meaningfulImprovement: changes.filter((c) => c.meaningful && c.change > 0).length,
        meaningfulDecline: changes.filter((c) => c.meaningful && c.change < 0).length,
        averageChange: changes.length
          ? Math.round((changes.reduce((t, c) => t + c.change, 0) / changes.length) * 100) / 100
          : null,
      },
      learningCycles: learning,
      issueLog: issues,
    };
  }
}
