import { Actor } from '@app/platform';
import { Body, Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { Response } from 'express';
import {
  FieldMap,
  FieldSpec,
  FormErrors,
  formResult,
  isoDateFrom,
  list,
  Posted,
  text,
} from '../shared/forms';
import { ForRoles, PortalRequest, SignedIn } from '../shared/http-context';
import { submitForm } from '../shared/page-actions';
import { Pages } from '../shared/pages';
import { PORTAL_RUNTIME, PortalRuntime } from '../shared/portal-runtime';
import { Services } from '../shared/services';
import { consentChoices, consentFields, consentRequest, withConsent } from './consent-form';
import { refParam } from './worker-paths';

const IDENTIFIERS: FieldMap = {
  name: { id: 'name', label: 'Full name' },
  dateOfBirth: { id: 'date-of-birth', label: 'Date of birth' },
};

const REGISTER: FieldMap = {
  ...IDENTIFIERS,
  'contact.phone': { id: 'phone', label: 'Phone number' },
  'contact.email': { id: 'email', label: 'Email address' },
  'contact.address': { id: 'address', label: 'Address' },
  contact: { id: 'phone', label: 'Contact details' },
  whatMatters: { id: 'what-matters', label: 'What matters to them' },
  ...consentFields,
};

/** Name and date of birth as the services take them; a date that is not day/month/year is the form's error. */
function identifiers(body: Posted, errors: FormErrors) {
  const name = text(body, 'name');
  const typed = text(body, 'dateOfBirth');
  const dateOfBirth = typed ? isoDateFrom(typed) : '';
  if (dateOfBirth === null)
    errors.add(
      IDENTIFIERS.dateOfBirth as FieldSpec,
      'Date of birth must be a date as day/month/year, for example 31/03/1990',
    );
  return { name, dateOfBirth: dateOfBirth ?? typed };
}

/** Someone at the door: find their journey (here or at another partner), or register them. */
@ForRoles('worker')
@Controller('worker')
export class PeopleController {
  constructor(
    private readonly pages: Pages,
    private readonly services: Services,
    @Inject(PORTAL_RUNTIME) private readonly runtime: PortalRuntime,
  ) {}

  @Get()
  find(@Req() req: PortalRequest, @Res() res: Response) {
    this.pages.render(req, res, 'worker/templates/find.njk', { title: 'Find a person', form: {} });
  }

  /** The lookup answers only whether a journey exists, here or elsewhere: never its content. */
  @Post('lookup')
  async lookup(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const errors = new FormErrors();
    const input = identifiers(body, errors);
    const form = { name: input.name, dateOfBirth: text(body, 'dateOfBirth') };
    if (!errors.any) {
      const answer = formResult(
        await this.services.as(actor).partner<LookupAnswer>('POST', '/people/lookup', input),
        IDENTIFIERS,
      );
      if (answer.ok) {
        this.pages.render(req, res, 'worker/templates/lookup-result.njk', {
          title: answer.body.found ? 'A journey was found' : 'No journey was found',
          form,
          input,
          journeys: answer.body.journeys,
          consent: consentChoices(this.runtime.consortium, actor.organisation),
        });
        return;
      }
      errors.summary.push(...answer.errors.summary);
      Object.assign(errors.fields, answer.errors.fields);
    }
    this.pages.render(req, res, 'worker/templates/find.njk', { title: 'Find a person', form, errors }, 400);
  }

  @Get('people/new')
  newPerson(@Req() req: PortalRequest, @Res() res: Response, @SignedIn() actor: Actor) {
    this.renderRegister(req, res, actor, {
      name: text(req.query as Posted, 'name'),
      dateOfBirth: text(req.query as Posted, 'dateOfBirth'),
    });
  }

  /** Registers the person and, in the same step, records the consent they gave (if they gave one). */
  @Post('people')
  async register(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const errors = new FormErrors();
    const ids = identifiers(body, errors);
    const consent = consentRequest(body, errors);
    const contact = Object.fromEntries(
      (['phone', 'email', 'address'] as const).flatMap((k) => (text(body, k) ? [[k, text(body, k)]] : [])),
    );
    const form = { ...body, partners: list(body, 'partners'), purposes: list(body, 'purposes') };
    const api = this.services.as(actor);
    await submitForm(req, res, {
      fields: REGISTER,
      errors,
      send: () =>
        api.partner<{ personRef: string }>('POST', '/people', {
          ...ids,
          contact,
          whatMatters: text(body, 'whatMatters'),
        }),
      done: ({ personRef }) =>
        withConsent(api, personRef, consent, {
          done: `${ids.name} is registered. Their reference is ${personRef}.`,
          notGiven: `${ids.name} is registered (${personRef}), but their consent was not recorded`,
        }),
      showErrors: (e) => this.renderRegister(req, res, actor, form, e),
    });
  }

  /** A person whose journey began at another partner is welcomed here, then their consent is recorded. */
  @Post('people/:ref/arrival')
  async arrival(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('ref') ref: string,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const personRef = refParam(ref);
    const errors = new FormErrors();
    const ids = identifiers(body, errors);
    const consent = consentRequest(body, errors);
    const api = this.services.as(actor);
    const fields = { ...IDENTIFIERS, ...consentFields };
    const rerender = (e: FormErrors) =>
      this.pages.render(req, res, 'worker/templates/lookup-result.njk', {
        title: 'A journey was found',
        form: {
          name: ids.name,
          dateOfBirth: text(body, 'dateOfBirth'),
          partners: list(body, 'partners'),
          purposes: list(body, 'purposes'),
        },
        input: ids,
        journeys: [{ personRef, knownHere: false }],
        consent: consentChoices(this.runtime.consortium, actor.organisation),
        errors: e,
      });
    // Welcomed first: a partner records consent only for a person it knows.
    await submitForm(req, res, {
      fields,
      errors,
      send: () => api.partner('POST', `/people/${encodeURIComponent(personRef)}/arrival`, ids),
      done: () =>
        withConsent(api, personRef, consent, {
          done: `${ids.name} is welcomed here.`,
          notGiven: `${ids.name} is welcomed here, but their consent was not recorded`,
        }),
      showErrors: rerender,
    });
  }

  private renderRegister(req: PortalRequest, res: Response, actor: Actor, form: Posted, errors?: FormErrors) {
    this.pages.render(req, res, 'worker/templates/register.njk', {
      title: 'Register a person',
      form,
      consent: consentChoices(this.runtime.consortium, actor.organisation),
      errors,
    });
  }
}

interface LookupAnswer {
  found: boolean;
  journeys: { personRef: string; knownHere: boolean }[];
}
