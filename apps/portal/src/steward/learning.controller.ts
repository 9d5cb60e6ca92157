import { CYCLE_SCALES } from '@app/domain';
import { Actor } from '@app/platform';
import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { Response } from 'express';
import { ForRoles, PortalRequest, SignedIn } from '../shared/http-context';
import { Pages } from '../shared/pages';
import { ok, Services } from '../shared/services';
import { idParam } from '../worker/worker-paths';

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

  @Get(':id')
  async cycle(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @SignedIn() actor: Actor,
  ) {
    const api = this.services.as(actor);
    const answer = ok(
      await api.projection<{
        cycle: Record<string, unknown>;
        links: { cycleId: string; relation: string }[];
        history: { type: string; at: string; by: unknown }[];
      }>('GET', `/learning-cycles/${idParam(id)}`),
    );
    // The linked cycles' titles, from the list (one call, not one per link).
    const { cycles } = ok(await api.projection<{ cycles: CycleRow[] }>('GET', '/learning-cycles'));
    this.pages.render(req, res, 'steward/templates/cycle.njk', {
      title: String(answer.cycle.title ?? 'A learning cycle'),
      cycle: answer.cycle,
      links: answer.links.map((l) => ({
        ...l,
        relation: l.relation.replaceAll('-', ' '),
        linked: cycles.find((c) => c.cycleId === l.cycleId) ?? null,
      })),
      history: answer.history,
    });
  }
}
