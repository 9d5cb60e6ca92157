import { Actor } from '@app/platform';
import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import { Response } from 'express';
import { FieldMap, FormErrors, formResult, isoDateFrom } from '../shared/forms';
import { ForRoles, PortalRequest, SignedIn } from '../shared/http-context';
import { Pages } from '../shared/pages';
import { PORTAL_RUNTIME, PortalRuntime } from '../shared/portal-runtime';
import { ok, Services } from '../shared/services';
import { defaultPeriod, formatPounds, monthsOf, PlaceFigures, placeCharts } from './place';

const PERIOD: FieldMap = {
  from: { id: 'from', label: 'From' },
  to: { id: 'to', label: 'To' },
};

/** A date from the address as the service takes it; what cannot be read goes as typed, for the service to name. */
const asDate = (typed: string | undefined, fallback: string) =>
  typed?.trim() ? (isoDateFrom(typed) ?? typed.trim()) : fallback;

/** The place view: what the consortium's partners did together in a period, as charts and their tables. */
@ForRoles('steward')
@Controller('steward')
export class PlaceController {
  constructor(
    private readonly pages: Pages,
    private readonly services: Services,
    @Inject(PORTAL_RUNTIME) private readonly runtime: PortalRuntime,
  ) {}

  @Get()
  async place(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @SignedIn() actor: Actor,
    @Query('from') fromTyped?: string,
    @Query('to') toTyped?: string,
    @Query('monthly') monthlyTyped?: string,
  ) {
    const fallback = defaultPeriod(new Date());
    const period = { from: asDate(fromTyped, fallback.from), to: asDate(toTyped, fallback.to) };
    const api = this.services.as(actor);
    const place = (p: { from: string; to: string }) =>
      api.projection<PlaceFigures>('GET', `/place?${new URLSearchParams({ from: p.from, to: p.to })}`);
    const result = formResult(await place(period), PERIOD);
    // Themes month by month take one more call per month (up to twelve): asked for, not drawn every time.
    const monthlyAsked = monthlyTyped === 'yes';
    const form = {
      from: fromTyped ?? period.from,
      to: toTyped ?? period.to,
      monthly: monthlyAsked ? ['yes'] : [],
    };
    if (!result.ok) return this.render(req, res, form, null, result.errors);
    const months = monthlyAsked ? monthsOf(period) : [];
    const monthly = await Promise.all(
      months.map(async (month) => ({ month, figures: ok(await place(month)) })),
    );
    const f = result.body;
    this.render(req, res, form, {
      f,
      charts: placeCharts(this.runtime.consortium, f, monthly),
      averageCost: formatPounds(f.perJourney.averageCostPounds),
      learningTotal: f.learningCycles.reduce((t, l) => t + l.cycles, 0),
      openIssues: f.issueLog.filter((i) => i.status === 'open').reduce((t, i) => t + i.issues, 0),
    });
  }

  private render(
    req: PortalRequest,
    res: Response,
    form: { from: string; to: string; monthly: string[] },
    view: Record<string, unknown> | null,
    errors?: FormErrors,
  ) {
    this.pages.render(req, res, 'steward/templates/place.njk', {
      title: 'The place',
      form,
      errors,
      ...view,
    });
  }
}
