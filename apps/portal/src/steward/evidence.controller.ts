import { Actor } from '@app/platform';
import { Body, Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { Response } from 'express';
import { FieldMap, FormErrors, isoDateFrom, Posted, text } from '../shared/forms';
import { ForRoles, PortalRequest, SignedIn } from '../shared/http-context';
import { actionNamed, PageAction, runAction, submitForm } from '../shared/page-actions';
import { Pages } from '../shared/pages';
import { organisationName, PORTAL_RUNTIME, PortalRuntime } from '../shared/portal-runtime';
import { ok, Services } from '../shared/services';
import { idParam } from '../worker/worker-paths';
import { PACK_STATUS, PackSummary, PackWithTables, sendPackFile } from './packs';
import { defaultPeriod } from './place';

const COMPOSE: FieldMap = {
  body: { id: 'body', label: 'Statutory body' },
  period: { id: 'from', label: 'Period' },
  'period.from': { id: 'from', label: 'From' },
  'period.to': { id: 'to', label: 'To' },
  from: { id: 'from', label: 'From' },
  to: { id: 'to', label: 'To' },
  caseStudies: { id: 'case-person', label: 'Case study' },
  'caseStudies.0.personRef': { id: 'case-person', label: 'The person’s reference' },
  'caseStudies.0.situation': { id: 'case-situation', label: 'Their situation' },
  'caseStudies.0.whatWasDone': { id: 'case-done', label: 'What was done' },
  'caseStudies.0.whatChangedForThePerson': { id: 'case-changed', label: 'What changed for them' },
  'caseStudies.0.systemChanges': { id: 'case-system', label: 'Changes to the system' },
  'caseStudies.0.methodChanges': { id: 'case-method', label: 'Changes to how we work' },
};
const DECLINE: FieldMap = { reason: { id: 'decline-reason', label: 'Why you decline it' } };
/** Approval and publication have no fields: what the service says shows in the summary. */
const NO_FIELDS: FieldMap = {};

const lines = (b: Posted, name: string) =>
  text(b, name)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

/** The case study's answers; none typed means the pack has none. */
function caseStudy(b: Posted) {
  const names = [
    'personRef',
    'situation',
    'whatWasDone',
    'whatChangedForThePerson',
    'systemChanges',
    'methodChanges',
  ];
  if (!names.some((n) => text(b, n))) return [];
  return [
    {
      personRef: text(b, 'personRef'),
      situation: text(b, 'situation'),
      whatWasDone: text(b, 'whatWasDone'),
      whatChangedForThePerson: text(b, 'whatChangedForThePerson'),
      systemChanges: lines(b, 'systemChanges'),
      methodChanges: lines(b, 'methodChanges'),
    },
  ];
}

const ACTIONS: Record<string, PageAction> = {
  approval: {
    path: 'approval',
    fields: NO_FIELDS,
    request: () => undefined,
    done: 'You approved the pack.',
  },
  declination: {
    path: 'declination',
    fields: DECLINE,
    request: (b) => ({ reason: text(b, 'reason') }),
    done: 'You declined the pack. Its composer sees your reason.',
  },
  publication: {
    path: 'publication',
    fields: NO_FIELDS,
    request: () => undefined,
    done: 'The pack is published, signed, to the statutory body’s feed.',
  },
};

const packPath = (id: string) => `/steward/packs/${id}`;

/** Evidence packs for statutory bodies: compose, approve or decline, publish. */
@ForRoles('steward')
@Controller('steward/packs')
export class EvidenceController {
  constructor(
    private readonly pages: Pages,
    private readonly services: Services,
    @Inject(PORTAL_RUNTIME) private readonly runtime: PortalRuntime,
  ) {}

  @Get()
  async list(@Req() req: PortalRequest, @Res() res: Response, @SignedIn() actor: Actor) {
    const packs = ok(await this.services.as(actor).projection<PackSummary[]>('GET', '/evidence-packs'));
    this.pages.render(req, res, 'steward/templates/packs.njk', {
      title: 'Evidence packs',
      packs: [...packs].sort((a, b) => b.composedAt.localeCompare(a.composedAt)).map(present),
    });
  }

  @Get('new')
  composeForm(@Req() req: PortalRequest, @Res() res: Response) {
    this.renderCompose(req, res, { ...defaultPeriod(new Date()) });
  }

  @Post()
  async compose(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const date = (name: string) => isoDateFrom(text(body, name)) ?? text(body, name);
    await submitForm(req, res, {
      fields: COMPOSE,
      send: () =>
        this.services.as(actor).projection<{ packId: string }>('POST', '/evidence-packs', {
          body: text(body, 'body'),
          period: { from: date('from'), to: date('to') },
          caseStudies: caseStudy(body),
        }),
      done: ({ packId }) => ({
        say: 'The pack is composed. The other partners’ stewards can approve it now.',
        to: packPath(packId),
      }),
      showErrors: (e) => this.renderCompose(req, res, body, e),
    });
  }

  @Get(':id')
  async pack(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @SignedIn() actor: Actor,
  ) {
    await this.renderPack(req, res, actor, idParam(id), {});
  }

  /** The pack as its body will read it, for the stewards who approve it. */
  @Get(':id/pack.html')
  async html(@Res() res: Response, @Param('id') id: string, @SignedIn() actor: Actor) {
    await sendPackFile(this.services, res, actor, `/evidence-packs/${idParam(id)}/pack.html`, null);
  }

  @Post(':id/:action')
  async act(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @Param('action') name: string,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const packId = idParam(id);
    await runAction(
      req,
      res,
      actionNamed(ACTIONS, name),
      (a) =>
        this.services.as(actor).projection('POST', `/evidence-packs/${packId}/${a.path}`, a.request(body)),
      packPath(packId),
      (errors) => this.renderPack(req, res, actor, packId, body, errors),
    );
  }

  private async renderPack(
    req: PortalRequest,
    res: Response,
    actor: Actor,
    packId: string,
    form: Posted,
    errors?: FormErrors,
  ) {
    const pack = ok(
      await this.services.as(actor).projection<PackWithTables>('GET', `/evidence-packs/${packId}`),
    );
    const p = present(pack);
    this.pages.render(req, res, 'steward/templates/pack.njk', {
      title: `Evidence for ${organisationName(this.runtime.consortium, pack.body)}`,
      p,
      tables: pack.contents.tables,
      approvedByYou: pack.approvals.some((a) => a.partner === actor.organisation),
      form,
      errors,
    });
  }

  private renderCompose(req: PortalRequest, res: Response, form: Posted, errors?: FormErrors) {
    this.pages.render(req, res, 'steward/templates/compose.njk', {
      title: 'Compose an evidence pack',
      form,
      errors,
      bodies: this.runtime.consortium.statutoryBodies.map((b) => ({ value: b.id, text: b.name })),
    });
  }
}

function present(p: PackSummary) {
  return {
    ...p,
    statusText: PACK_STATUS[p.status],
    waitingFor: Math.max(0, p.approvalsNeeded - p.approvals.length),
  };
}
