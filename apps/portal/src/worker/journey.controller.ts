import { Actor } from '@app/platform';
import { Body, Controller, Get, Inject, NotFoundException, Param, Post, Req, Res } from '@nestjs/common';
import { Response } from 'express';
import { FieldMap, FormErrors, list, Posted, text } from '../shared/forms';
import { ForRoles, PortalRequest, SignedIn } from '../shared/http-context';
import { submitForm } from '../shared/page-actions';
import { Pages } from '../shared/pages';
import { organisationName, PORTAL_RUNTIME, PortalRuntime } from '../shared/portal-runtime';
import { ok, Services } from '../shared/services';
import { consentChoices, consentFields, consentRequest } from './consent-form';
import { JourneyEntry, timeline } from './journey-entries';
import { MEASURE_ROW_NUMBERS, RECORD_FORMS } from './record-forms';
import { idParam, journeyPath, refParam } from './worker-paths';

const WHAT_MATTERS: FieldMap = { whatMatters: { id: 'what-matters', label: 'What matters to them' } };

interface Journey {
  personRef: string;
  erased: boolean;
  person: {
    registeredBy: string;
    name?: string;
    dateOfBirth?: string;
    contact?: Record<string, string>;
  } | null;
  whatMatters: string | null;
  themes: string[];
  knownTo: string[];
  openReferrals: { referralId: string; from: string; to: string; status: string; requestedAt: string }[];
  entries: JourneyEntry[];
}

interface Consent {
  consentId: string;
  recordedBy: string;
  partners: string[];
  purposes: string[];
  validFrom: string;
  validUntil: string | null;
  withdrawnAt: string | null;
  inForce: boolean;
}

/** A person's journey: the timeline across partners within consent, and the work recorded on it. */
@ForRoles('worker')
@Controller('worker/people/:ref')
export class JourneyController {
  constructor(
    private readonly pages: Pages,
    private readonly services: Services,
    @Inject(PORTAL_RUNTIME) private readonly runtime: PortalRuntime,
  ) {}

  @Get()
  async journey(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('ref') ref: string,
    @SignedIn() actor: Actor,
  ) {
    const personRef = refParam(ref);
    const j = ok(
      await this.services
        .as(actor)
        .projection<Journey>('GET', `/people/${encodeURIComponent(personRef)}/journey`),
    );
    const c = this.runtime.consortium;
    this.pages.render(req, res, 'worker/templates/journey.njk', {
      title: j.person?.name ? `${j.person.name}’s journey` : `Journey ${personRef}`,
      personRef,
      j,
      holdsRecord:
        j.knownTo.includes(actor.organisation) || j.entries.some((e) => e.partner === actor.organisation),
      knownTo: j.knownTo.map((p) => organisationName(c, p)),
      registeredBy: j.person && organisationName(c, j.person.registeredBy),
      timeline: timeline(j.entries, c),
      records: Object.entries(RECORD_FORMS).map(([key, f]) => ({ key, title: f.title })),
    });
  }

  @Get('records/:record')
  recordForm(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('ref') ref: string,
    @Param('record') record: string,
  ) {
    this.renderRecord(req, res, refParam(ref), record, {});
  }

  /** One POST, then back to the journey: a record of work takes two page loads. */
  @Post('records/:record')
  async record(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('ref') ref: string,
    @Param('record') record: string,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const personRef = refParam(ref);
    const form = formFor(record);
    const errors = new FormErrors();
    const request = form.request(body, new Date(), errors);
    await submitForm(req, res, {
      fields: form.fields,
      errors,
      send: () =>
        this.services
          .as(actor)
          .partner('POST', `/people/${encodeURIComponent(personRef)}/journey/${form.path}`, request),
      done: () => ({ say: form.done, to: journeyPath(personRef) }),
      showErrors: (e) => this.renderRecord(req, res, personRef, record, body, e),
    });
  }

  @Get('what-matters')
  async whatMattersForm(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('ref') ref: string,
    @SignedIn() actor: Actor,
  ) {
    const personRef = refParam(ref);
    const j = ok(
      await this.services
        .as(actor)
        .projection<Journey>('GET', `/people/${encodeURIComponent(personRef)}/journey`),
    );
    this.renderWhatMatters(req, res, personRef, { whatMatters: j.whatMatters ?? '' });
  }

  @Post('what-matters')
  async whatMatters(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('ref') ref: string,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const personRef = refParam(ref);
    await submitForm(req, res, {
      fields: WHAT_MATTERS,
      send: () =>
        this.services.as(actor).partner('PUT', `/people/${encodeURIComponent(personRef)}/what-matters`, {
          whatMatters: text(body, 'whatMatters'),
        }),
      done: () => ({ say: 'What matters to them is revised.', to: journeyPath(personRef) }),
      showErrors: (e) => this.renderWhatMatters(req, res, personRef, body, e),
    });
  }

  /** Who outside the partners that support the person read their journey: the person may ask. */
  @Get('reads')
  async reads(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('ref') ref: string,
    @SignedIn() actor: Actor,
  ) {
    const personRef = refParam(ref);
    const answer = ok(
      await this.services
        .as(actor)
        .projection<{ reads: { organisation: string; user: string; purpose: string; at: string }[] }>(
          'GET',
          `/people/${encodeURIComponent(personRef)}/reads`,
        ),
    );
    this.pages.render(req, res, 'worker/templates/reads.njk', {
      title: 'Who read this journey',
      personRef,
      reads: answer.reads.map((r) => ({
        ...r,
        organisation: organisationName(this.runtime.consortium, r.organisation),
      })),
    });
  }

  @Get('consents')
  async consents(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('ref') ref: string,
    @SignedIn() actor: Actor,
  ) {
    await this.renderConsents(req, res, refParam(ref), actor, { partners: [], purposes: [] });
  }

  @Post('consents')
  async giveConsent(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('ref') ref: string,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const personRef = refParam(ref);
    const errors = new FormErrors();
    const form = { partners: list(body, 'partners'), purposes: list(body, 'purposes') };
    const consent = consentRequest(body, errors);
    if (!consent && !errors.any)
      errors.add(consentFields.partners, 'Select the partners they consent to share with');
    await submitForm(req, res, {
      fields: consentFields,
      errors,
      send: () =>
        this.services.as(actor).partner('POST', `/people/${encodeURIComponent(personRef)}/consents`, consent),
      done: () => ({ say: 'Their consent is recorded.', to: `${journeyPath(personRef)}/consents` }),
      showErrors: (e) => this.renderConsents(req, res, personRef, actor, form, e),
    });
  }

  /** Withdrawal takes effect at once: every view refuses from then on. */
  @Post('consents/:consentId/withdrawal')
  async withdraw(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('ref') ref: string,
    @Param('consentId') consentId: string,
    @SignedIn() actor: Actor,
  ) {
    const personRef = refParam(ref);
    const path = `/people/${encodeURIComponent(personRef)}/consents/${idParam(consentId)}/withdrawal`;
    await submitForm(req, res, {
      fields: {},
      send: () => this.services.as(actor).partner('POST', path, {}),
      done: () => ({ say: 'The consent is withdrawn.', to: `${journeyPath(personRef)}/consents` }),
      showErrors: (e) => this.renderConsents(req, res, personRef, actor, { partners: [], purposes: [] }, e),
    });
  }

  private async renderConsents(
    req: PortalRequest,
    res: Response,
    personRef: string,
    actor: Actor,
    form: Posted,
    errors?: FormErrors,
  ) {
    const answer = ok(
      await this.services
        .as(actor)
        .projection<{ consents: Consent[] }>('GET', `/people/${encodeURIComponent(personRef)}/consents`),
    );
    const name = (id: string) => organisationName(this.runtime.consortium, id);
    this.pages.render(req, res, 'worker/templates/consents.njk', {
      title: 'Consent',
      personRef,
      consents: answer.consents.map((c) => ({
        ...c,
        partners: c.partners.map(name),
        recordedBy: name(c.recordedBy),
        ours: c.recordedBy === actor.organisation,
      })),
      consent: consentChoices(this.runtime.consortium, actor.organisation),
      form,
      errors,
    });
  }

  private renderRecord(
    req: PortalRequest,
    res: Response,
    personRef: string,
    record: string,
    form: Posted,
    errors?: FormErrors,
  ) {
    const f = formFor(record);
    this.pages.render(req, res, 'worker/templates/record.njk', {
      title: f.title,
      personRef,
      record,
      form,
      choices: f.choices ?? {},
      measureRows: MEASURE_ROW_NUMBERS,
      errors,
    });
  }

  private renderWhatMatters(
    req: PortalRequest,
    res: Response,
    personRef: string,
    form: Posted,
    errors?: FormErrors,
  ) {
    this.pages.render(req, res, 'worker/templates/what-matters.njk', {
      title: 'What matters to them',
      personRef,
      form,
      errors,
    });
  }
}

function formFor(record: string) {
  const form = Object.hasOwn(RECORD_FORMS, record) ? RECORD_FORMS[record] : undefined;
  if (!form) throw new NotFoundException();
  return form;
}
