import { REFERRAL_MOVES, REFERRAL_STATUSES, ReferralStatus } from '@app/domain';
import { Actor } from '@app/platform';
import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { Response } from 'express';
import { FieldMap, FormErrors, Posted, text } from '../shared/forms';
import { ForRoles, PortalRequest, SignedIn } from '../shared/http-context';
import { submitForm } from '../shared/page-actions';
import { Pages } from '../shared/pages';
import { PORTAL_RUNTIME, PortalRuntime } from '../shared/portal-runtime';
import { ok, Services, UserServices } from '../shared/services';
import { idParam, journeyPath, refParam } from './worker-paths';

interface Referral {
  referralId: string;
  personRef: string | null;
  from: string;
  to: string;
  status: ReferralStatus;
  assignee: string | null;
  requestedAt: string;
  answeredAt: string | null;
  firstContactAt: string | null;
  overdue: boolean;
  personal: { name: string | null; reason: string | null } | null;
  withheld?: string;
}

const REFER: FieldMap = {
  toOrganisation: { id: 'to-organisation', label: 'Refer to' },
  reason: { id: 'reason', label: 'Why' },
  personRef: { id: 'to-organisation', label: 'The person' },
};
const MOVE: FieldMap = {
  status: { id: 'status', label: 'New status' },
  reason: { id: 'move-reason', label: 'Reason' },
};

const STATUS_TEXT: Record<ReferralStatus, string> = {
  requested: 'Requested',
  accepted: 'Accept',
  rejected: 'Reject',
  'in-progress': 'In progress: work with the person has started',
  'on-hold': 'On hold',
  completed: 'Completed',
  cancelled: 'Cancel the referral',
  failed: 'Failed: it could not be done',
  'entered-in-error': 'Entered in error',
};

/** The three lists a worker answers from; only these may be returned to after a move. */
const LISTS = {
  inbox: { path: '/worker/referrals', title: 'Referral inbox', api: '/referrals/inbox' },
  mine: {
    path: '/worker/referrals?mine=true',
    title: 'Referrals you took on',
    api: '/referrals/inbox?mine=true',
  },
  sent: {
    path: '/worker/referrals?sent=true',
    title: 'Referrals your organisation sent',
    api: '/referrals/sent',
  },
} as const;
type ListName = keyof typeof LISTS;
const listName = (v: unknown): ListName => (v === 'mine' || v === 'sent' ? v : 'inbox');

/** Referrals: making one, the inboxes, and every move the referral workflow allows this side. */
@ForRoles('worker')
@Controller('worker')
export class ReferralsController {
  constructor(
    private readonly pages: Pages,
    private readonly services: Services,
    @Inject(PORTAL_RUNTIME) private readonly runtime: PortalRuntime,
  ) {}

  @Get('people/:ref/referral')
  referForm(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('ref') ref: string,
    @SignedIn() actor: Actor,
  ) {
    this.renderRefer(req, res, refParam(ref), actor, {});
  }

  @Post('people/:ref/referral')
  async refer(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('ref') ref: string,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const personRef = refParam(ref);
    await submitForm(req, res, {
      fields: REFER,
      send: () =>
        this.services.as(actor).partner('POST', '/referrals', {
          personRef,
          toOrganisation: text(body, 'toOrganisation'),
          reason: text(body, 'reason'),
        }),
      done: () => ({
        say: 'The referral is sent. You will see here when they answer.',
        to: journeyPath(personRef),
      }),
      showErrors: (e) => this.renderRefer(req, res, personRef, actor, body, e),
    });
  }

  /** The partner's inbox, the worker's own (`?mine=true`) and what the partner sent (`?sent=true`). */
  @Get('referrals')
  async inbox(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @SignedIn() actor: Actor,
    @Query('mine') mine?: string,
    @Query('sent') sent?: string,
  ) {
    const name: ListName = mine === 'true' ? 'mine' : sent === 'true' ? 'sent' : 'inbox';
    const list = LISTS[name];
    const answer = ok(await this.services.as(actor).projection<{ referrals: Referral[] }>('GET', list.api));
    this.pages.render(req, res, 'worker/templates/inbox.njk', {
      title: list.title,
      list: name,
      lists: Object.entries(LISTS).map(([key, l]) => ({ key, ...l, current: key === name })),
      referrals: answer.referrals.map((r) => this.present(r, actor)),
    });
  }

  @Get('referrals/:id')
  async referral(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @SignedIn() actor: Actor,
    @Query('from') from?: string,
  ) {
    await this.renderReferral(req, res, actor, idParam(id), listName(from), {});
  }

  /** The most common answer, in one step from the inbox. */
  @Post('referrals/:id/acceptance')
  async accept(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const referralId = idParam(id);
    const from = listName(body.from);
    await submitForm(req, res, {
      fields: MOVE,
      send: () => this.services.as(actor).partner('POST', `/referrals/${referralId}/acceptance`, {}),
      done: () => ({ say: 'You accepted the referral. It is in your referrals now.', to: LISTS[from].path }),
      showErrors: (e) => this.renderReferral(req, res, actor, referralId, from, {}, e),
    });
  }

  @Post('referrals/:id/status')
  async move(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const referralId = idParam(id);
    const from = listName(body.from);
    const status = text(body, 'status');
    const errors = new FormErrors();
    if (!status) errors.add(MOVE.status, 'Select the new status');
    await submitForm(req, res, {
      fields: MOVE,
      errors,
      send: () =>
        this.services.as(actor).partner('POST', `/referrals/${referralId}/status`, {
          status,
          reason: text(body, 'reason') || undefined,
        }),
      done: () => ({ say: `The referral is now ${status.replaceAll('-', ' ')}.`, to: LISTS[from].path }),
      showErrors: (e) => this.renderReferral(req, res, actor, referralId, from, body, e),
    });
  }

  /** Which moves this side may make now: the workflow's own table, so the page offers only what the service allows. */
  private present(r: Referral, actor: Actor) {
    const side = r.to === actor.organisation ? 'recipient' : 'referrer';
    return {
      ...r,
      side,
      moves: REFERRAL_MOVES[side][r.status].map((s) => ({ value: s, text: STATUS_TEXT[s] })),
      canAccept: side === 'recipient' && REFERRAL_MOVES.recipient[r.status].includes('accepted'),
    };
  }

  private async findReferral(api: UserServices, referralId: string): Promise<Referral> {
    return ok(await api.projection<Referral>('GET', `/referrals/${encodeURIComponent(referralId)}`));
  }

  private async renderReferral(
    req: PortalRequest,
    res: Response,
    actor: Actor,
    referralId: string,
    from: ListName,
    form: Posted,
    errors?: FormErrors,
  ) {
    const r = this.present(await this.findReferral(this.services.as(actor), referralId), actor);
    this.pages.render(req, res, 'worker/templates/referral.njk', {
      title: 'A referral',
      r,
      from,
      back: LISTS[from],
      form,
      errors,
      statuses: REFERRAL_STATUSES,
    });
  }

  private renderRefer(
    req: PortalRequest,
    res: Response,
    personRef: string,
    actor: Actor,
    form: Posted,
    errors?: FormErrors,
  ) {
    const c = this.runtime.consortium;
    this.pages.render(req, res, 'worker/templates/refer.njk', {
      title: 'Make a referral',
      personRef,
      form,
      errors,
      organisations: [
        ...c.partners.filter((p) => p.id !== actor.organisation).map((p) => ({ value: p.id, text: p.name })),
        ...c.statutoryBodies.map((b) => ({ value: b.id, text: `${b.name} (statutory service)` })),
      ],
    });
  }
}
