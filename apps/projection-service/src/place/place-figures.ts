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
  const end = new Date(Date.parse(`${period.to}T00:00:00Z`) + 86400_000).toISOString();
  const params = [period.from, period.to, `${period.from}T00:00:00Z`, end];
  const dayParams = params.slice(0, 2);
  const instants = params.slice(2);
  const q = (sql: string, values: unknown[] = dayParams): Promise<Row[]> => dataSource.query(sql, values);
  const days = 'day BETWEEN $1::date AND $2::date';
  const within = (column: string, first = 1) =>
    `${column} >= $${first}::timestamptz AND ${column} < $${first + 1}::timestamptz`;

  const partnerRows = await q(
    `SELECT a.partner, count(*)::int AS "peopleSupported",
            count(*) FILTER (WHERE ${within('r.known_since', 3)})::int AS "newPeople",
            sum(a.contacts)::int AS contacts, sum(a.visits)::int AS visits, sum(a.calls)::int AS calls,
            sum(a.contact_minutes)::int AS "contactMinutes", sum(a.cost_pence)::bigint AS "costPence"
       FROM (SELECT partner, person_ref, sum(contacts) AS contacts, sum(visits) AS visits, sum(calls) AS calls,
                    sum(contact_minutes) AS contact_minutes, sum(cost_pence) AS cost_pence
               FROM ${s}.place_activity WHERE ${days} GROUP BY 1, 2) a
       LEFT JOIN ${s}.person_records r ON r.person_ref = a.person_ref AND r.partner = a.partner
      GROUP BY 1 ORDER BY 1`,
    params,
  );
  const byPartner = partnerRows.map((r) => ({ ...r, costPence: Number(r.costPence) })) as PartnerFigures[];

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

  const inPeriod = `SELECT DISTINCT person_ref FROM ${s}.place_activity WHERE ${days}`;
  const themeRows = await q(
    `SELECT themes FROM ${s}.person_summaries WHERE person_ref IN (${inPeriod}) AND cardinality(themes) > 0`,
  );
  const themeCounts = new Map<string, number>();
  const pairs = new Map<string, number>();
  for (const { themes } of themeRows as { themes: string[] }[]) {
    const sorted = [...new Set(themes)].sort();
    for (const a of sorted) themeCounts.set(a, (themeCounts.get(a) ?? 0) + 1);
    for (let i = 0; i < sorted.length; i++)
      for (let j = i + 1; j < sorted.length; j++) {
        const key = `${sorted[i]}|${sorted[j]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + 1);
      }
  }
  const themesByPartner = (await q(
    `SELECT a.partner, t.theme, count(*)::int AS people
       FROM (SELECT DISTINCT partner, person_ref FROM ${s}.place_activity WHERE ${days}) a
       JOIN ${s}.person_summaries p ON p.person_ref = a.person_ref
       CROSS JOIN LATERAL (SELECT DISTINCT unnest(p.themes) AS theme) t
      GROUP BY 1, 2 ORDER BY 1, 2`,
  )) as { partner: string; theme: string; people: number }[];

  const [perJourney] = await q(
    `SELECT count(*)::int AS journeys,
            coalesce(round(avg(cost) / 100.0, 2), 0)::float AS "averageCostPounds",
            coalesce(round(avg(visits), 1), 0)::float AS "averageVisits",
            coalesce(round(avg(calls), 1), 0)::float AS "averageCalls"
       FROM (SELECT person_ref, sum(cost_pence) AS cost, sum(visits) AS visits, sum(calls) AS calls
               FROM ${s}.place_activity WHERE ${days} GROUP BY person_ref) j`,
  );

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
    peopleSupported: (await q(`SELECT count(*)::int AS n FROM (${inPeriod}) p`))[0].n as number,
    byPartner,
    referralFlows,
    themes: [...themeCounts]
      .map(([theme, people]) => ({ theme, people }))
      .sort((a, b) => b.people - a.people || a.theme.localeCompare(b.theme)),
    themesTogether: [...pairs]
      .map(([k, people]) => ({ themes: k.split('|'), people }))
      .sort((a, b) => b.people - a.people),
    themesByPartner,
    perJourney: perJourney as {
      journeys: number;
      averageCostPounds: number;
      averageVisits: number;
      averageCalls: number;
    },
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
