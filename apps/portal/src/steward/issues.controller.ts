import { ASK_OUTCOMES, ISSUE_OWNERS, ISSUE_SOURCE_KINDS } from '@app/domain';
import { Actor } from '@app/platform';
import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { Response } from 'express';
import type { PackIssue } from '../../../projection-service/src/evidence/pack-contents';
import { FieldMap, FormErrors, Posted, text } from '../shared/forms';
import { ForRoles, PortalRequest, SignedIn } from '../shared/http-context';
import { actionNamed, PageAction, runAction, submitForm } from '../shared/page-actions';
import { Pages } from '../shared/pages';
import { organisationName, PORTAL_RUNTIME, PortalRuntime } from '../shared/portal-runtime';
import { ok, Services } from '../shared/services';
import { idParam } from '../worker/worker-paths';

export const LEVELS = [
  { value: '1', text: '1: individual' },
  { value: '2', text: '2: system' },
  { value: '3', text: '3: macro' },
];
export const OWNERS = ISSUE_OWNERS.map((o) => ({ value: o, text: o.charAt(0).toUpperCase() + o.slice(1) }));
const STATUSES = [
  { value: 'open', text: 'Open' },
  { value: 'closed', text: 'Closed' },
];
const OUTCOMES = ASK_OUTCOMES.map((o) => ({
  value: o,
  text: o.charAt(0).toUpperCase() + o.slice(1).replaceAll('-', ' '),
}));
const SOURCES = ISSUE_SOURCE_KINDS.map((k) => ({
  value: k,
  text: k.charAt(0).toUpperCase() + k.slice(1).replaceAll('-', ' '),
}));

const RAISE: FieldMap = {
  description: { id: 'description', label: 'The issue' },
  level: { id: 'level', label: 'Level' },
  owner: { id: 'owner', label: 'Owner' },
  raisedFrom: { id: 'raised-from-kind', label: 'Where it was seen' },
  'raisedFrom.kind': { id: 'raised-from-kind', label: 'Where it was seen' },
  'raisedFrom.ref': { id: 'raised-from-ref', label: 'Which one' },
};

/** A level or owner typed in a form: a number for the level, omitted when not chosen. */
const levelOf = (b: Posted, name: string) => (text(b, name) ? Number(text(b, name)) : undefined);
const optional = (b: Posted, name: string) => text(b, name) || undefined;

/**
 * The actions on an issue, each a form on the issue's page posted to the partner's
 * `POST /issues/{id}/{path}`: its fields, the request from what was typed, and what to say when it is done.
 */
export const ISSUE_ACTIONS: Record<string, PageAction> = {
  escalation: {
    path: 'escalation',
    fields: {
      level: { id: 'escalate-level', label: 'New level' },
      owner: { id: 'escalate-owner', label: 'New owner' },
      reason: { id: 'escalate-reason', label: 'Why it is escalated' },
    },
    request: (b) => ({ level: levelOf(b, 'level'), owner: optional(b, 'owner'), reason: text(b, 'reason') }),
    done: 'The issue is escalated.',
  },
  countermeasure: {
    path: 'countermeasure',
    fields: { countermeasure: { id: 'countermeasure', label: 'Countermeasure now' } },
    request: (b) => ({ countermeasure: text(b, 'countermeasure') }),
    done: 'The countermeasure is recorded.',
  },
  'system-change': {
    path: 'system-change',
    fields: { systemChange: { id: 'system-change', label: 'System change for the new normal' } },
    request: (b) => ({ systemChange: text(b, 'systemChange') }),
    done: 'The system change is recorded.',
  },
  asks: {
    path: 'asks',
    fields: {
      body: { id: 'ask-body', label: 'Statutory body' },
      ask: { id: 'ask', label: 'What you ask of them' },
    },
    request: (b) => ({ body: text(b, 'body'), ask: text(b, 'ask') }),
    done: 'The ask is recorded.',
  },
  'ask-outcomes': {
    path: 'ask-outcomes',
    fields: {
      askId: { id: 'answered-ask', label: 'Which ask' },
      outcome: { id: 'ask-outcome', label: 'Their answer' },
      response: { id: 'ask-response', label: 'What they said' },
    },
    request: (b) => ({
      askId: optional(b, 'askId'),
      outcome: optional(b, 'outcome'),
      response: text(b, 'response'),
    }),
    done: 'Their answer is recorded.',
  },
  closure: {
    path: 'closure',
    fields: { whatChanged: { id: 'what-changed', label: 'What changed' } },
    request: (b) => ({ whatChanged: text(b, 'whatChanged') }),
    done: 'The issue is closed.',
  },
  reopening: {
    path: 'reopening',
    fields: { reason: { id: 'reopen-reason', label: 'Why it is reopened' } },
    request: (b) => ({ reason: text(b, 'reason') }),
    done: 'The issue is open again.',
  },
};

interface IssueRecord {
  type: string;
  partner: string;
  by: unknown;
  at: string;
  data: Record<string, unknown>;
}

/** What was asked of statutory bodies on an issue, each with the latest answer recorded for it. */
function asksOf(history: IssueRecord[], bodyName: (id: string) => string) {
  const asks = new Map<string, { askId: string; body: string; ask: string; outcome: string | null }>();
  for (const h of history) {
    const askId = String(h.data.askId ?? '');
    if (h.type === 'IssueAskMade')
      asks.set(askId, { askId, body: bodyName(String(h.data.body)), ask: String(h.data.ask), outcome: null });
    else if (h.type === 'IssueAskAnswered' && asks.has(askId))
      (asks.get(askId) as { outcome: string | null }).outcome = String(h.data.outcome).replaceAll('-', ' ');
  }
  return [...asks.values()];
}

/** A row of GET /issues: the issue as a pack carries it, without the asks. */
type IssueRow = Omit<PackIssue, 'asks'>;

const issuePath = (id: string) => `/steward/issues/${id}`;

/** The issue log as the seed keeps it: raise, escalate, ask a statutory body, close. */
@ForRoles('steward')
@Controller('steward/issues')
export class IssuesController {
  constructor(
    private readonly pages: Pages,
    private readonly services: Services,
    @Inject(PORTAL_RUNTIME) private readonly runtime: PortalRuntime,
  ) {}

  /** The log, filtered by level, owner and status (a GET form: the filter is in the address). */
  @Get()
  async log(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @SignedIn() actor: Actor,
    @Query() query: Posted,
  ) {
    const filter = {
      level: LEVELS.some((l) => l.value === query.level) ? String(query.level) : '',
      owner: OWNERS.some((o) => o.value === query.owner) ? String(query.owner) : '',
      status: STATUSES.some((s) => s.value === query.status) ? String(query.status) : '',
    };
    const params = new URLSearchParams(Object.entries(filter).filter(([, v]) => v));
    const { issues } = ok(
      await this.services.as(actor).projection<{ issues: IssueRow[] }>('GET', `/issues?${params}`),
    );
    this.pages.render(req, res, 'steward/templates/issues.njk', {
      title: 'The issue log',
      filter,
      issues,
      levels: LEVELS,
      owners: OWNERS,
      statuses: STATUSES,
    });
  }

  @Get('new')
  raiseForm(@Req() req: PortalRequest, @Res() res: Response) {
    this.renderRaise(req, res, {});
  }

  @Post()
  async raise(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const kind = text(body, 'raisedFromKind');
    await submitForm(req, res, {
      fields: RAISE,
      send: () =>
        this.services.as(actor).partner('POST', '/issues', {
          description: text(body, 'description'),
          level: levelOf(body, 'level'),
          owner: optional(body, 'owner'),
          raisedFrom:
            kind || text(body, 'raisedFromRef') ? { kind, ref: text(body, 'raisedFromRef') } : undefined,
        }),
      done: () => ({ say: 'The issue is in the log.', to: '/steward/issues' }),
      showErrors: (e) => this.renderRaise(req, res, body, e),
    });
  }

  @Get(':id')
  async issue(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @SignedIn() actor: Actor,
  ) {
    await this.renderIssue(req, res, actor, idParam(id), null, {});
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
    const issueId = idParam(id);
    await runAction(
      req,
      res,
      actionNamed(ISSUE_ACTIONS, name),
      (a) => this.services.as(actor).partner('POST', `/issues/${issueId}/${a.path}`, a.request(body)),
      issuePath(issueId),
      (errors) => this.renderIssue(req, res, actor, issueId, name, body, errors),
    );
  }

  private async renderIssue(
    req: PortalRequest,
    res: Response,
    actor: Actor,
    issueId: string,
    action: string | null,
    form: Posted,
    errors?: FormErrors,
  ) {
    const answer = ok(
      await this.services
        .as(actor)
        .projection<{ issue: Record<string, unknown>; history: IssueRecord[] }>('GET', `/issues/${issueId}`),
    );
    const bodyName = (id: string) => organisationName(this.runtime.consortium, id);
    this.pages.render(req, res, 'steward/templates/issue.njk', {
      title: 'An issue',
      issueId,
      issue: answer.issue,
      history: answer.history.map((h) => ({ ...h, by: actorName(h.by) })),
      asks: asksOf(answer.history, bodyName).map((a) => ({
        value: a.askId,
        text: `${a.body}: ${a.ask}${a.outcome ? ` (answered: ${a.outcome})` : ''}`,
      })),
      outcomes: OUTCOMES,
      action,
      form,
      errors,
      levels: LEVELS,
      owners: OWNERS,
      bodies: this.runtime.consortium.statutoryBodies.map((b) => ({ value: b.id, text: b.name })),
    });
  }

  private renderRaise(req: PortalRequest, res: Response, form: Posted, errors?: FormErrors) {
    this.pages.render(req, res, 'steward/templates/raise-issue.njk', {
      title: 'Raise an issue',
      form,
      errors,
      levels: LEVELS,
      owners: OWNERS,
      sources: SOURCES,
    });
  }
}

/** Who did something, as the history records them (a user id, or an actor's record). */
function actorName(by: unknown): string {
  if (typeof by === 'string') return by;
  const b = by as { name?: string; userId?: string } | null;
  return b?.name ?? b?.userId ?? '';
}
