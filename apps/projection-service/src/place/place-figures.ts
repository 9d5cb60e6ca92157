import { Consortium } from '@app/consortium';
import { wellbeingChange } from '@app/domain';
import { DataSource } from 'typeorm';

export interface Period {
  /** First day, YYYY-MM-DD. */
  from: string;
  /** Last day, YYYY-MM-DD, included. */
  to: string;
}

type Row = Record<string, unknown>;

/** A period's first and last instants as timestamps bound it: its first day's UTC midnight, and the next day's after its last. */
export function periodInstants(period: Period): [string, string] {
  const end = new Date(Date.parse(`${period.to}T00:00:00Z`) + 86400_000).toISOString();
  return [`${period.from}T00:00:00Z`, end];
}

/** One partner's work in the period. */
export interface PartnerFigures {
  partner: string;
  peopleSupported: number;
  /** Of those, people the partner first knew in the period. */
  newPeople: number;
  contacts: number;
  visits: number;
  calls: number;
  contactMinutes: number;
  costPence: number;
}

export interface ReferralFlow {
  from: string;
  to: string;
  referrals: number;
  accepted: number;
  completed: number;
  declined: number;
  awaitingAnswer: number;
  closedLoop: number;
  daysToFirstContact: number | null;
  /** How many referrals had a first contact: the base of the average. */
  withFirstContact: number;
}

/**
 * Everything a steward sees of the place for a period, computed from the read models the projector keeps up to
 * date (place_activity per partner, person and day; referrals; person summaries; learning), never by going back
 * over events. Aggregates only: no person and no consortium reference leaves this function.
 */
export async function placeFigures(
  dataSource: DataSource,
  schema: string,
  consortium: Consortium,
  period: Period,
) {
  const s = schema;
  // Days for place_activity ($1, $2); instants for timestamps ($3, $4), the period's UTC midnights.
  const params = [period.from, period.to, ...periodInstants(period)];
  const dayParams = params.slice(0, 2);
  const instants = params.slice(2);
  const q = (sql: string, values: unknown[] = dayParams): Promise<Row[]> => dataSource.query(sql, values);
  const days = 'day BETWEEN $1::date AND $2::date';
  const within = (column: string, first = 1) =>
    `${column} >= $${first}::timestamptz AND ${column} < $${first + 1}::timestamptz`;

  // One pass over the period's activity: each partner's people (and each person's across partners), from which
  // the partners' figures, the people, the themes and the cost per journey all come.
  const [{ figures }] = await q(
    `WITH pp AS MATERIALIZED (
            SELECT partner, person_ref, sum(contacts) AS contacts, sum(visits) AS visits, sum(calls) AS calls,
                   sum(contact_minutes) AS contact_minutes, sum(cost_pence) AS cost_pence
              FROM ${s}.place_activity WHERE ${days} GROUP BY 1, 2),
          people AS MATERIALIZED (
            SELECT person_ref, sum(cost_pence) AS cost, sum(visits) AS visits, sum(calls) AS calls FROM pp GROUP BY 1),
          themed AS MATERIALIZED (
            SELECT p.person_ref, array(SELECT DISTINCT t FROM unnest(s.themes) t ORDER BY 1) AS themes
              FROM people p JOIN ${s}.person_summaries s ON s.person_ref = p.person_ref
             WHERE cardinality(s.themes) > 0)
     SELECT json_build_object(
       'byPartner', (SELECT coalesce(json_agg(x ORDER BY x.partner), '[]') FROM (
           SELECT pp.partner, count(*)::int AS "peopleSupported",
                  count(*) FILTER (WHERE ${within('r.known_since', 3)})::int AS "newPeople",
                  sum(pp.contacts)::int AS contacts, sum(pp.visits)::int AS visits, sum(pp.calls)::int AS calls,
                  sum(pp.contact_minutes)::int AS "contactMinutes", sum(pp.cost_pence)::bigint AS "costPence"
             FROM pp LEFT JOIN ${s}.person_records r ON r.person_ref = pp.person_ref AND r.partner = pp.partner
            GROUP BY 1) x),
       'peopleSupported', (SELECT count(*) FROM people),
       'perJourney', (SELECT json_build_object(
           'journeys', count(*),
           'averageCostPounds', coalesce(round(avg(cost) / 100.0, 2), 0)::float,
           'averageVisits', coalesce(round(avg(visits), 1), 0)::float,
           'averageCalls', coalesce(round(avg(calls), 1), 0)::float) FROM people),
       'themes', (SELECT coalesce(json_agg(x ORDER BY x.people DESC, x.theme), '[]') FROM (
           SELECT t AS theme, count(*)::int AS people FROM themed, unnest(themes) t GROUP BY 1) x),
       'themesTogether', (SELECT coalesce(json_agg(x ORDER BY x.people DESC, x.themes::text), '[]') FROM (
           SELECT json_build_array(a, b) AS themes, count(*)::int AS people
             FROM themed, unnest(themes) WITH ORDINALITY a(a, i), unnest(themes) WITH ORDINALITY b(b, j)
            WHERE i < j GROUP BY a, b) x),
       'themesByPartner', (SELECT coalesce(json_agg(x ORDER BY x.partner, x.theme), '[]') FROM (
           SELECT pp.partner, t AS theme, count(*)::int AS people
             FROM pp JOIN themed ON themed.person_ref = pp.person_ref, unnest(themed.themes) t GROUP BY 1, 2) x)
     ) AS figures`,
    params,
  );
  const f = figures as {
    byPartner: PartnerFigures[];
    peopleSupported: number;
    perJourney: { journeys: number; averageCostPounds: number; averageVisits: number; averageCalls: number };
    themes: { theme: string; people: number }[];
    themesTogether: { themes: string[]; people: number }[];
    themesByPartner: { partner: string; theme: string; people: number }[];
  };
  const byPartner = f.byPartner.map((r) => ({ ...r, costPence: Number(r.costPence) }));

  const referralFlows = (await q(
    `SELECT from_partner AS "from", to_organisation AS "to", count(*)::int AS referrals,
            count(*) FILTER (WHERE status NOT IN ('requested', 'rejected', 'cancelled'))::int AS accepted,
            count(*) FILTER (WHERE status = 'completed')::int AS completed,
            count(*) FILTER (WHERE status IN ('rejected', 'cancelled', 'failed'))::int AS declined,
            count(*) FILTER (WHERE status = 'requested')::int AS "awaitingAnswer",
            count(*) FILTER (WHERE status IN ('completed', 'rejected', 'failed', 'cancelled'))::int AS "closedLoop",
            round(avg(extract(epoch FROM first_contact_at - requested_at) / 86400)::numeric, 1)::float AS "daysToFirstContact",
            count(first_contact_at)::int AS "withFirstContact"
       FROM ${s}.referrals WHERE ${within('requested_at')}
        AND status <> 'entered-in-error'
      GROUP BY 1, 2 ORDER BY 1, 2`,
    instants,
  )) as unknown as ReferralFlow[];

  const measures = await q(
    `SELECT person_ref, partner, occurred_at AS at, (details->>'metric')::float AS metric
       FROM ${s}.journey_entries
      WHERE event_type = 'WellbeingMeasured' AND ${within('occurred_at')}
      ORDER BY occurred_at`,
    instants,
  );
  const threshold = consortium.wellbeing.swemwbs.meaningfulChange;
  const byPerson = new Map<string, { partner: string; list: { at: string; metric: number }[] }>();
  for (const m of measures) {
    const p = byPerson.get(m.person_ref as string) ?? { partner: '', list: [] };
    p.partner = m.partner as string; // the partner of the latest measure
    p.list.push({ at: (m.at as Date).toISOString(), metric: m.metric as number });
    byPerson.set(m.person_ref as string, p);
  }
  const changes = [...byPerson.values()]
    .map((p) => ({ partner: p.partner, change: wellbeingChange(p.list, threshold) }))
    .filter((c): c is { partner: string; change: NonNullable<typeof c.change> } => c.change !== null);
  const wellbeingByPartner = new Map<string, { improved: number; unchanged: number; declined: number }>();
  for (const { partner, change } of changes) {
    const w = wellbeingByPartner.get(partner) ?? { improved: 0, unchanged: 0, declined: 0 };
    if (!change.meaningful) w.unchanged++;
    else if (change.change > 0) w.improved++;
    else w.declined++;
    wellbeingByPartner.set(partner, w);
  }

  const learningCycles = await q(
    `SELECT scale, stage, count(*)::int AS cycles FROM ${s}.learning_cycles GROUP BY 1, 2 ORDER BY 1, 2`,
    [],
  );
  const issueLog = await q(
    `SELECT level, owner, status, count(*)::int AS issues FROM ${s}.issues GROUP BY 1, 2, 3 ORDER BY 1 DESC, 2, 3`,
    [],
  );
  return {
    period,
    peopleSupported: f.peopleSupported,
    byPartner,
    referralFlows,
    themes: f.themes,
    themesTogether: f.themesTogether,
    themesByPartner: f.themesByPartner,
    perJourney: f.perJourney,
    wellbeing: {
      measured: changes.length,
      meaningfulImprovement: changes.filter((c) => c.change.meaningful && c.change.change > 0).length,
      meaningfulDecline: changes.filter((c) => c.change.meaningful && c.change.change < 0).length,
      averageChange: changes.length
        ? Math.round((changes.reduce((t, c) => t + c.change.change, 0) / changes.length) * 100) / 100
        : null,
      /** People measured at least twice, by the partner of their latest measure and the direction of change. */
      byPartner: [...wellbeingByPartner]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([partner, w]) => ({ partner, ...w })),
    },
    learningCycles: learningCycles as { scale: string; stage: string; cycles: number }[],
    issueLog: issueLog as { level: number; owner: string; status: string; issues: number }[],
  };
}

export type PlaceFigures = Awaited<ReturnType<typeof placeFigures>>;
