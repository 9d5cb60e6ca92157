import { CYCLE_SCALES } from '@app/domain';
import { Actor } from '@app/platform';
import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { Response } from 'express';
import { FormErrors, Posted } from '../shared/forms';
import { ForRoles, PortalRequest, SignedIn } from '../shared/http-context';
import { actionNamed, runAction } from '../shared/page-actions';
import { Pages } from '../shared/pages';
import { ok, Services, UserServices } from '../shared/services';
import { idParam } from '../worker/worker-paths';
import { CONVENE, CYCLE_STAGE_FORMS, CycleChoices, CycleStageForm } from './cycle-stages';

interface CycleRow {
  cycleId: string;
  title: string;
  scale: string;
  ownerPartner: string;
  ownerTeam: string | null;
  purpose: string | null;
  stage: string;
  open: boolean;
  experiments: number;
  updatedAt: string;
}

interface CycleAnswer {
  cycle: Record<string, unknown>;
  links: { cycleId: string; relation: string }[];
  history: { type: string; at: string; by: unknown; data: Record<string, unknown> }[];
}

interface Experiment {
  experimentId: string;
  question: string;
  status: 'designed' | 'running' | 'concluded';
}

/** The cycle's experiments and where each stands, from its history. */
function experimentsOf(history: CycleAnswer['history']): Experiment[] {
  const found = new Map<string, Experiment>();
  const STATUS: Record<string, Experiment['status']> = {
    ExperimentDesigned: 'designed',
    ExperimentStarted: 'running',
    ExperimentConcluded: 'concluded',
  };
  for (const h of history) {
    const id = String(h.data?.experimentId ?? '');
    if (h.type === 'ExperimentDesigned')
      found.set(id, { experimentId: id, question: String(h.data.question), status: 'designed' });
    else if (STATUS[h.type] && found.has(id)) (found.get(id) as Experiment).status = STATUS[h.type];
  }
  return [...found.values()];
}

/** Which experiments a stage may be recorded on. */
const EXPERIMENT_STATUS: Record<string, Experiment['status']> = {
  'experiment-start': 'designed',
  'experiment-learning': 'running',
  'experiment-conclusion': 'running',
};

/** "CyclePurposeSet" -> "Cycle purpose set", for the history. */
const words = (type: string) =>
  type.replace(/(?<=[a-z])([A-Z])/g, ' $1').replace(/ [A-Z]/g, (m) => m.toLowerCase());

const cyclePath = (id: string) => `/steward/learning/${id}`;

const SCALES = CYCLE_SCALES.map((s) => ({ value: s, text: s.charAt(0).toUpperCase() + s.slice(1) }));

/** Learning cycles across the place: how many at each scale and stage, and each cycle with its linked cycles. */
@ForRoles('steward')
@Controller('steward/learning')
export class LearningController {
  constructor(
    private readonly pages: Pages,
    private readonly services: Services,
  ) {}

  @Get()
  async cycles(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @SignedIn() actor: Actor,
    @Query('scale') scaleTyped?: string,
  ) {
    const scale = SCALES.some((s) => s.value === scaleTyped) ? (scaleTyped as string) : '';
    const { cycles } = ok(
      await this.services.as(actor).projection<{ cycles: CycleRow[] }>('GET', '/learning-cycles'),
    );
    const stages = [...new Set(cycles.map((c) => c.stage))].sort();
    this.pages.render(req, res, 'steward/templates/learning.njk', {
      title: 'Learning cycles',
      scale,
      scales: SCALES,
      stages,
      matrix: SCALES.map((s) => ({
        ...s,
        counts: stages.map((st) => cycles.filter((c) => c.scale === s.value && c.stage === st).length),
        total: cycles.filter((c) => c.scale === s.value).length,
      })),
      groups: SCALES.filter((s) => !scale || s.value === scale).map((s) => ({
        ...s,
        cycles: cycles.filter((c) => c.scale === s.value),
      })),
    });
  }

  @Get('new')
  conveneForm(@Req() req: PortalRequest, @Res() res: Response) {
    this.renderForm(req, res, CONVENE, null, {}, {});
  }

  /** A new cycle, convened at the steward's own partner; then its page, to set the purpose or link it. */
  @Post()
  async convene(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    await runAction(
      req,
      res,
      CONVENE,
      (a) => this.services.as(actor).partner('POST', '/learning-cycles', a.request(body)),
      async (answer) => {
        const cycleId = idParam(String(answer.cycleId));
        await this.untilProjected(this.services.as(actor), cycleId);
        return cyclePath(cycleId);
      },
      (errors) => this.renderForm(req, res, CONVENE, null, {}, body, errors),
    );
  }

  @Get(':id')
  async cycle(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @SignedIn() actor: Actor,
  ) {
    const api = this.services.as(actor);
    const answer = await this.findCycle(api, idParam(id));
    // The linked cycles' titles, from the list (one call, not one per link).
    const cycles = await this.allCycles(api);
    const c = answer.cycle;
    this.pages.render(req, res, 'steward/templates/cycle.njk', {
      title: String(c.title ?? 'A learning cycle'),
      cycle: c,
      links: answer.links.map((l) => ({
        ...l,
        relation: l.relation.replaceAll('-', ' '),
        linked: cycles.find((x) => x.cycleId === l.cycleId) ?? null,
      })),
      experiments: experimentsOf(answer.history),
      history: answer.history.map((h) => ({ ...h, type: words(h.type) })),
      // Only the owning partner records on a cycle (its events are in that partner's store).
      stages:
        c.open && c.owner_partner === actor.organisation
          ? Object.entries(CYCLE_STAGE_FORMS).map(([key, f]) => ({ key, title: f.title }))
          : [],
    });
  }

  @Get(':id/:stage')
  async stageForm(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @Param('stage') name: string,
    @SignedIn() actor: Actor,
  ) {
    const form = actionNamed(CYCLE_STAGE_FORMS, name);
    const cycleId = idParam(id);
    await this.renderStage(req, res, actor, cycleId, name, form, {});
  }

  @Post(':id/:stage')
  async stage(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @Param('stage') name: string,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const form = actionNamed(CYCLE_STAGE_FORMS, name);
    const cycleId = idParam(id);
    await runAction(
      req,
      res,
      form,
      (a) =>
        this.services.as(actor).partner('POST', `/learning-cycles/${cycleId}/${a.path}`, a.request(body)),
      cyclePath(cycleId),
      (errors) => this.renderStage(req, res, actor, cycleId, name, form, body, errors),
    );
  }

  /**
   * Waits a moment for the projection to have a cycle just convened, so that its page opens rather than "not
   * found"; after two seconds its page is opened anyway.
   */
  private async untilProjected(api: UserServices, cycleId: string): Promise<void> {
    for (let i = 0; i < 20; i++) {
      if ((await api.projection('GET', `/learning-cycles/${cycleId}`)).ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private findCycle(api: UserServices, cycleId: string): Promise<CycleAnswer> {
    return api.projection<CycleAnswer>('GET', `/learning-cycles/${cycleId}`).then(ok);
  }

  private async allCycles(api: UserServices): Promise<CycleRow[]> {
    return ok(await api.projection<{ cycles: CycleRow[] }>('GET', '/learning-cycles')).cycles;
  }

  private async renderStage(
    req: PortalRequest,
    res: Response,
    actor: Actor,
    cycleId: string,
    name: string,
    form: CycleStageForm,
    posted: Posted,
    errors?: FormErrors,
  ) {
    const api = this.services.as(actor);
    const answer = await this.findCycle(api, cycleId);
    const status = EXPERIMENT_STATUS[name];
    const choices: Record<CycleChoices, { value: string; text: string }[]> = {
      experiments: experimentsOf(answer.history)
        .filter((e) => !status || e.status === status)
        .map((e) => ({ value: e.experimentId, text: e.question })),
      cycles: form.questions.some((q) => q.choices === 'cycles')
        ? (await this.allCycles(api))
            .filter((c) => c.cycleId !== cycleId)
            .map((c) => ({ value: c.cycleId, text: `${c.title} (${c.scale})` }))
        : [],
    };
    this.renderForm(req, res, form, { cycleId, title: String(answer.cycle.title) }, choices, posted, errors);
  }

  private renderForm(
    req: PortalRequest,
    res: Response,
    form: CycleStageForm,
    cycle: { cycleId: string; title: string } | null,
    choices: Partial<Record<CycleChoices, { value: string; text: string }[]>>,
    posted: Posted,
    errors?: FormErrors,
  ) {
    const questions = form.questions.map((q) => ({
      ...q,
      items: q.choices ? (choices[q.choices] ?? []) : q.items,
    }));
    this.pages.render(req, res, 'steward/templates/cycle-stage.njk', {
      title: form.title,
      form,
      cycle,
      action: cycle ? `${cyclePath(cycle.cycleId)}/${form.path}` : '/steward/learning',
      back: cycle ? cyclePath(cycle.cycleId) : '/steward/learning',
      questions,
      // A choice with nothing to choose from (no experiment running yet): say so rather than offer the form.
      nothingToChoose: questions.find((q) => q.choices && !q.items?.length) ?? null,
      posted,
      errors,
    });
  }
}
