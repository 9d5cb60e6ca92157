import { Consortium, organisationName } from '@app/consortium';
import {
  applyDisclosureControl,
  CountTable,
  consentPermits,
  DomainError,
  PackPeriod,
  PublishedTable,
  REFERRAL_STATUSES,
} from '@app/domain';
import { openFor } from '@app/privacy';
import { DataSource, EntityManager } from 'typeorm';
import { periodInstants, placeFigures } from '../place/place-figures';
import { consentsOf, ProjectionRuntime } from '../shared/projection-runtime';
import { Provenance, provenanceOf } from './provenance';

/** A table as a pack publishes it: disclosure control applied, `null` where a count is suppressed. */
export interface PackTable extends PublishedTable {
  id: string;
  title: string;
  rowsAre: string;
  columnsAre: string;
}

/** A person's story told without identifying them, in the seed's case-study shape. */
export interface CaseStudy {
  caseStudyId: string;
  situation: string;
  whatWasDone: string;
  /** Counted from the journey, as the seed's case study counts it. */
  costAndEffort: {
    moneySpentPounds: number;
    visits: number;
    calls: number;
    contacts: number;
    partners: number;
  };
  whatChangedForThePerson: string;
  systemChanges: string[];
  methodChanges: string[];
}

export interface AskOfThisBody {
  ask: string;
  askedAt: string;
  outcome: string | null;
  response: string | null;
  answeredAt: string | null;
}

export interface PackIssue {
  issueId: string;
  description: string;
  level: number;
  owner: string;
  status: string;
  countermeasure: string | null;
  systemChange: string | null;
  whatChanged: string | null;
  /** What the consortium asks of this body about the issue, earlier asks first, with what became of each. */
  asks: AskOfThisBody[];
}

export interface Learnt {
  cycle: string;
  scale: string;
  kind: string;
  learning: string[];
  at: string;
}

export interface PackContents {
  consortium: { id: string; name: string; place: string; purpose: string };
  body: { id: string; name: string };
  period: PackPeriod;
  disclosure: { minimum: number; suppressZeros: boolean };
  tables: PackTable[];
  /** Averages, each only where it rests on at least `disclosure.minimum` people or referrals (else null). */
  measures: {
    journeys: number | null;
    averageCostPounds: number | null;
    averageVisits: number | null;
    averageCalls: number | null;
    daysToFirstContact: { from: string; to: string; days: number | null }[];
  };
  caseStudies: CaseStudy[];
  issues: PackIssue[];
  learning: { cycles: { scale: string; stage: string; cycles: number }[]; learnt: Learnt[] };
  provenance: Provenance[];
}

/** What a steward writes for a case study; the platform adds the cost and effort from the journey. */
export interface CaseStudyRequest {
  personRef: string;
  situation: string;
  whatWasDone: string;
  whatChangedForThePerson: string;
  systemChanges: string[];
  methodChanges: string[];
}

type Queryable = Pick<EntityManager, 'query'> | DataSource;

/**
 * Everything a pack for one body and period holds, from the read models, in one consistent snapshot (the
 * caller's transaction). Disclosure control is applied to every count table, against the same tables in the
 * packs published before, so no small count is published nor can be worked out by differencing.
 */
export async function composeContents(
  db: Queryable,
  schema: string,
  consortium: Consortium,
  request: {
    body: string;
    period: PackPeriod;
    composer: string;
    caseStudies: CaseStudyRequest[];
    earlierTables: Map<string, PublishedTable[]>;
    at: Date;
  },
): Promise<{ contents: PackContents; remember(into: Pick<EntityManager, 'query'>): Promise<void> }> {
  const { minimum, suppressZeros } = {
    minimum: consortium.evidence.disclosureMinimum,
    suppressZeros: consortium.evidence.suppressZeros,
  };
  const f = await placeFigures(db as DataSource, schema, consortium, request.period);
  const name = (id: string) => organisationName(consortium, id);
  const partners = consortium.partners.map((p) => p.id);
  const organisations = [...partners, ...consortium.statutoryBodies.map((b) => b.id)];
  const partnerRow = <T extends { partner: string }>(rows: T[], id: string) =>
    rows.find((r) => r.partner === id);

  const outcomeRows: { to: string; status: string; n: number }[] = await db.query(
    `SELECT to_organisation AS "to", status, count(*)::int AS n FROM ${schema}.referrals
      WHERE requested_at >= $1::timestamptz AND requested_at < $2::timestamptz AND status <> 'entered-in-error'
      GROUP BY 1, 2`,
    periodInstants(request.period),
  );
  const OUTCOMES: Record<string, (typeof REFERRAL_STATUSES)[number][]> = {
    'awaiting an answer': ['requested'],
    'taken on': ['accepted', 'in-progress', 'on-hold'],
    completed: ['completed'],
    'could not be completed': ['failed'],
    'declined or withdrawn': ['rejected', 'cancelled'],
  };

  const raw: (CountTable & Omit<PackTable, keyof PublishedTable>)[] = [
    {
      id: 'people-supported',
      title: 'People supported, by partner',
      rowsAre: 'partner',
      columnsAre: 'when the partner first knew them',
      rows: partners.map(name),
      columns: ['in the period', 'before the period'],
      cells: partners.map((p) => {
        const r = partnerRow(f.byPartner, p);
        return [r?.newPeople ?? 0, (r?.peopleSupported ?? 0) - (r?.newPeople ?? 0)];
      }),
    },
    {
      id: 'contacts',
      title: 'Contacts, by partner and kind',
      rowsAre: 'partner',
      columnsAre: 'kind of contact',
      rows: partners.map(name),
      columns: ['visits', 'phone calls', 'other contacts'],
      cells: partners.map((p) => {
        const r = partnerRow(f.byPartner, p);
        return [r?.visits ?? 0, r?.calls ?? 0, (r?.contacts ?? 0) - (r?.visits ?? 0) - (r?.calls ?? 0)];
      }),
    },
    {
      id: 'referrals',
      title: 'Referrals made in the period, from partner to organisation',
      rowsAre: 'referred by',
      columnsAre: 'referred to',
      rows: partners.map(name),
      columns: organisations.map(name),
      cells: partners.map((from) =>
        organisations.map(
          (to) => f.referralFlows.find((x) => x.from === from && x.to === to)?.referrals ?? 0,
        ),
      ),
    },
    {
      id: 'referral-outcomes',
      title: 'What became of the referrals made in the period',
      rowsAre: 'referred to',
      columnsAre: 'where the referral is now',
      rows: organisations.map(name),
      columns: Object.keys(OUTCOMES),
      cells: organisations.map((to) =>
        Object.values(OUTCOMES).map((statuses) =>
          outcomeRows
            .filter((r) => r.to === to && (statuses as string[]).includes(r.status))
            .reduce((t, r) => t + r.n, 0),
        ),
      ),
    },
    {
      id: 'themes',
      title: 'People bringing each theme, by partner (a person may bring several)',
      rowsAre: 'theme',
      columnsAre: 'partner',
      rows: consortium.themes,
      columns: partners.map(name),
      cells: consortium.themes.map((t) =>
        partners.map((p) => f.themesByPartner.find((x) => x.theme === t && x.partner === p)?.people ?? 0),
      ),
    },
    {
      id: 'wellbeing',
      title: 'Change in wellbeing (SWEMWBS) of people measured at least twice',
      rowsAre: 'partner of the latest measure',
      columnsAre: 'change',
      rows: partners.map(name),
      columns: ['improved', 'no meaningful change', 'declined'],
      cells: partners.map((p) => {
        const w = partnerRow(f.wellbeing.byPartner, p);
        return [w?.improved ?? 0, w?.unchanged ?? 0, w?.declined ?? 0];
      }),
    },
  ];
  const tables = raw.map(({ id, title, rowsAre, columnsAre, ...table }): PackTable => {
    const controlled = applyDisclosureControl(table, {
      minimum,
      suppressZeros,
      previouslyPublished: request.earlierTables.get(id) ?? [],
    });
    // The audit trail (which entries are primary) is never published: it would narrow them down.
    const { suppressed: _s, earlierPacksNotCompared: _e, ...published } = controlled;
    return { id, title, rowsAre, columnsAre, ...published };
  });

  const enough = (n: number) => n >= minimum;
  const j = f.perJourney;
  const measures = {
    journeys: enough(j.journeys) ? j.journeys : null,
    averageCostPounds: enough(j.journeys) ? j.averageCostPounds : null,
    averageVisits: enough(j.journeys) ? j.averageVisits : null,
    averageCalls: enough(j.journeys) ? j.averageCalls : null,
    daysToFirstContact: f.referralFlows.map((x) => ({
      from: name(x.from),
      to: name(x.to),
      days: enough(x.withFirstContact) ? x.daysToFirstContact : null,
    })),
  };

  const caseStudies: CaseStudy[] = [];
  for (const [i, cs] of request.caseStudies.entries()) {
    caseStudies.push(await caseStudyOf(db, schema, cs, i));
  }

  const issues = await issuesFor(db, schema, request.body);
  const learnt: Learnt[] = (
    await db.query(
      `SELECT c.title AS cycle, c.scale, r.event_type AS kind, r.data, r.occurred_at AS at
         FROM ${schema}.learning_records r JOIN ${schema}.learning_cycles c ON c.cycle_id = r.subject_id
        WHERE r.subject_kind = 'cycle' AND c.scale IN ('organisation', 'place')
          AND r.event_type IN ('ExperimentLearningRecorded', 'ExperimentConcluded', 'EmbeddingRecorded', 'InfluencingRecorded')
          AND r.occurred_at >= $1::timestamptz AND r.occurred_at < $2::timestamptz
        ORDER BY r.occurred_at DESC LIMIT 100`,
      periodInstants(request.period),
    )
  ).map((r: { cycle: string; scale: string; kind: string; data: Record<string, unknown>; at: Date }) => ({
    cycle: r.cycle,
    scale: r.scale,
    kind: r.kind,
    learning: learningIn(r.kind, r.data),
    at: r.at.toISOString(),
  }));

  const { provenance, remember } = await provenanceOf(db, schema);
  const contents: PackContents = {
    consortium: {
      id: consortium.id,
      name: consortium.name,
      place: consortium.place,
      purpose: consortium.purpose,
    },
    body: { id: request.body, name: name(request.body) },
    period: request.period,
    disclosure: { minimum, suppressZeros },
    tables,
    measures,
    caseStudies,
    issues,
    learning: { cycles: f.learningCycles, learnt },
    provenance,
  };
  return { contents, remember };
}

/** The words of a learning record worth passing up: what was learnt for other scales and systems. */
function learningIn(kind: string, d: Record<string, unknown>): string[] {
  switch (kind) {
    case 'ExperimentLearningRecorded':
    case 'ExperimentConcluded':
      return [d.learningForThisScale as string, ...((d.learningForOtherSystems as string[]) ?? [])];
    case 'EmbeddingRecorded':
      return d.bauChanges as string[];
    case 'InfluencingRecorded':
      return (d.changes as { whose: string; change: string }[]).map((c) => `${c.whose}: ${c.change}`);
    default:
      return [];
  }
}

/** Issues at level 3 or owned by government, with what was asked of this body about each. */
async function issuesFor(db: Queryable, schema: string, body: string): Promise<PackIssue[]> {
  const rows: (Omit<PackIssue, 'asks'> & { asks: AskOfThisBody[] | null })[] = await db.query(
    `SELECT i.issue_id AS "issueId", i.description, i.level, i.owner, i.status, i.countermeasure,
            i.system_change AS "systemChange", i.what_changed AS "whatChanged",
            (SELECT json_agg(json_build_object('ask', a.ask, 'askedAt', a.asked_at, 'outcome', a.outcome,
                    'response', a.response, 'answeredAt', a.answered_at) ORDER BY a.asked_at)
               FROM ${schema}.issue_asks a WHERE a.issue_id = i.issue_id AND a.body = $1) AS asks
       FROM ${schema}.issues i WHERE i.level = 3 OR i.owner = 'government' ORDER BY i.raised_at`,
    [body],
  );
  return rows.map((r) => ({ ...r, asks: r.asks ?? [] }));
}

/**
 * A case study is told only with the person's consent to this partner for "case-study", and never names them
 * (checked against their own record, opened with their key). Run before composing, outside its snapshot: the
 * key service may share the database's one session (the embedded default), and a transaction must not wait on it.
 */
export async function checkCaseStudies(
  runtime: ProjectionRuntime,
  composer: string,
  requests: CaseStudyRequest[],
  at: Date,
): Promise<void> {
  const schema = (runtime.dataSource.options as { schema: string }).schema;
  for (const [index, cs] of requests.entries()) {
    const field = `caseStudies.${index}`;
    if (!consentPermits(await consentsOf(runtime, cs.personRef), composer, 'case-study', at)) {
      throw new DomainError(
        'forbidden',
        `${cs.personRef} has not consented to ${composer} telling their story as a case study: ask them, and record the consent for the purpose "case-study", first`,
        `${field}.personRef`,
      );
    }
    const [record] = await runtime.dataSource.query(
      `SELECT personal FROM ${schema}.person_records WHERE person_ref = $1 AND personal IS NOT NULL LIMIT 1`,
      [cs.personRef],
    );
    const personal = record
      ? await openFor(runtime.keys, cs.personRef, record.personal as { name?: unknown })
      : null;
    if (typeof personal?.name === 'string' && namesIn(cs, personal.name)) {
      throw new DomainError(
        'invalid',
        'the case study names the person: tell their story without their name',
        field,
      );
    }
  }
}

/** Whether any part of the person's name (of three letters or more) appears as a word in the story. */
function namesIn(cs: CaseStudyRequest, name: string): boolean {
  const story = [
    cs.situation,
    cs.whatWasDone,
    cs.whatChangedForThePerson,
    ...cs.systemChanges,
    ...cs.methodChanges,
  ]
    .join(' ')
    .toLocaleLowerCase('en-GB');
  return name
    .toLocaleLowerCase('en-GB')
    .split(/[^\p{L}'-]+/u)
    .filter((w) => w.length > 2)
    .some((w) =>
      new RegExp(`(?<![\\p{L}])${w.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}(?![\\p{L}])`, 'u').test(story),
    );
}

async function caseStudyOf(
  db: Queryable,
  schema: string,
  cs: CaseStudyRequest,
  index: number,
): Promise<CaseStudy> {
  const [effort] = await db.query(
    `SELECT coalesce(sum(cost_pence), 0)::bigint AS cost, coalesce(sum(visits), 0)::int AS visits,
            coalesce(sum(calls), 0)::int AS calls, coalesce(sum(contacts), 0)::int AS contacts,
            count(DISTINCT partner)::int AS partners
       FROM ${schema}.place_activity WHERE person_ref = $1`,
    [cs.personRef],
  );
  return {
    caseStudyId: `case-study-${index + 1}`,
    situation: cs.situation,
    whatWasDone: cs.whatWasDone,
    costAndEffort: {
      moneySpentPounds: Number(effort.cost) / 100,
      visits: effort.visits,
      calls: effort.calls,
      contacts: effort.contacts,
      partners: effort.partners,
    },
    whatChangedForThePerson: cs.whatChangedForThePerson,
    systemChanges: cs.systemChanges,
    methodChanges: cs.methodChanges,
  };
}
