import { Consortium } from '@app/consortium';
import type { PlaceFigures } from '../../../projection-service/src/place/place-figures';
import { organisationName } from '../shared/portal-runtime';
import { arcDiagram, barChart, lineChart } from './charts';

/** What GET /place answers: the projection service's own type (a type only; the portal calls it over HTTP). */
export type { PlaceFigures };

export interface Month {
  label: string;
  from: string;
  to: string;
}

const pounds = new Intl.NumberFormat('en-GB', {
  style: 'currency',
  currency: 'GBP',
  maximumFractionDigits: 0,
});
const monthName = new Intl.DateTimeFormat('en-GB', { month: 'short', year: 'numeric', timeZone: 'UTC' });
const MAX_MONTHS = 12;

/** The period a steward sees first: the last three months up to today. */
export function defaultPeriod(today: Date): { from: string; to: string } {
  const from = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 2, 1));
  return { from: from.toISOString().slice(0, 10), to: today.toISOString().slice(0, 10) };
}

/**
 * The calendar months a period spans (each clipped to the period), the last twelve at most: "themes over
 * time" is one GET /place per month. A period within one month has none: its themes are the period's.
 */
export function monthsOf(period: { from: string; to: string }): Month[] {
  const start = new Date(`${period.from}T00:00:00Z`);
  const end = new Date(`${period.to}T00:00:00Z`);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end < start) return [];
  const months: Month[] = [];
  for (
    let m = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), 1));
    m <= end;
    m = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1))
  ) {
    const last = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 0));
    const from = m < start ? start : m;
    const to = last > end ? end : last;
    months.push({
      label: monthName.format(m),
      from: from.toISOString().slice(0, 10),
      to: to.toISOString().slice(0, 10),
    });
  }
  return months.length > 1 ? months.slice(-MAX_MONTHS) : [];
}

/** Every chart of the place view, each with the rows of the table beside it. */
export function placeCharts(
  c: Consortium,
  f: PlaceFigures,
  monthly: { month: Month; figures: PlaceFigures }[],
) {
  const name = (id: string) => organisationName(c, id);
  const involved = new Set(f.referralFlows.flatMap((r) => [r.from, r.to]));
  const nodes = [...c.partners, ...c.statutoryBodies]
    .filter((o) => involved.has(o.id))
    .map((o) => ({ id: o.id, label: o.name }));
  for (const id of involved) if (!nodes.some((x) => x.id === id)) nodes.push({ id, label: name(id) });

  const topThemes = (monthly.length ? aggregateThemes(monthly.map((m) => m.figures)) : f.themes)
    .slice(0, 6)
    .map((t) => t.theme);
  const themesOverTime = monthly.length
    ? {
        months: monthly.map((m) => m.month.label),
        rows: topThemes.map((theme) => ({
          theme,
          values: monthly.map((m) => m.figures.themes.find((t) => t.theme === theme)?.people ?? 0),
        })),
      }
    : null;

  return {
    flows: {
      svg: arcDiagram(
        {
          id: 'chart-flows',
          title: 'Referral flows between organisations',
          description:
            'Each arc is the referrals from one organisation to another; arcs above the line go right, arcs below go left; the number on each arc is its referrals.',
        },
        nodes,
        f.referralFlows.map((r) => ({ from: r.from, to: r.to, value: r.referrals })),
      ),
      rows: f.referralFlows.map((r) => ({ ...r, fromName: name(r.from), toName: name(r.to) })),
    },
    themes: themesOverTime
      ? {
          svg: lineChart(
            {
              id: 'chart-themes',
              title: 'Themes people bring, month by month',
              description: `People with each of the ${topThemes.length} commonest themes in each month; the table below gives every number.`,
            },
            themesOverTime.months,
            themesOverTime.rows.map((r) => ({ label: r.theme, values: r.values })),
          ),
          overTime: themesOverTime,
          rows: f.themes,
        }
      : {
          svg: barChart(
            {
              id: 'chart-themes',
              title: 'Themes people bring in the period',
              description: 'People with each theme; the table below gives every number.',
            },
            [{ label: '', bars: f.themes.map((t) => ({ label: t.theme, value: t.people })) }],
          ),
          overTime: null,
          rows: f.themes,
        },
    contacts: {
      svg: barChart(
        {
          id: 'chart-contacts',
          title: 'Contacts by partner',
          description: 'Contacts each partner had with people in the period.',
        },
        [{ label: '', bars: f.byPartner.map((p) => ({ label: name(p.partner), value: p.contacts })) }],
      ),
      cost: barChart(
        {
          id: 'chart-cost',
          title: 'Cost of support by partner',
          description: 'What each partner spent on support for people in the period, in pounds.',
        },
        [
          {
            label: '',
            bars: f.byPartner.map((p) => ({
              label: name(p.partner),
              value: p.costPence,
              shown: pounds.format(p.costPence / 100),
            })),
          },
        ],
      ),
      rows: f.byPartner.map((p) => ({ ...p, name: name(p.partner), cost: pounds.format(p.costPence / 100) })),
    },
    wellbeing: f.wellbeing.measured
      ? {
          svg: barChart(
            {
              id: 'chart-wellbeing',
              title: 'Wellbeing change where measured',
              description:
                'People measured at least twice, by partner: how many improved meaningfully, did not change meaningfully, or declined meaningfully.',
            },
            f.wellbeing.byPartner.map((w) => ({
              label: name(w.partner),
              bars: [
                { label: 'Improved', value: w.improved },
                { label: 'No meaningful change', value: w.unchanged },
                { label: 'Declined', value: w.declined },
              ],
            })),
          ),
          rows: f.wellbeing.byPartner.map((w) => ({ ...w, name: name(w.partner) })),
        }
      : null,
  };
}

function aggregateThemes(figures: PlaceFigures[]): { theme: string; people: number }[] {
  const total = new Map<string, number>();
  for (const f of figures) for (const t of f.themes) total.set(t.theme, (total.get(t.theme) ?? 0) + t.people);
  return [...total]
    .map(([theme, people]) => ({ theme, people }))
    .sort((a, b) => b.people - a.people || a.theme.localeCompare(b.theme));
}

export const formatPounds = (p: number) => pounds.format(p);
