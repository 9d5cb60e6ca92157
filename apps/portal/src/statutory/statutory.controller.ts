import { Actor } from '@app/platform';
import { Body, Controller, Get, NotFoundException, Param, Post, Query, Req, Res } from '@nestjs/common';
import { Response } from 'express';
import type { PackVerification } from '../../../projection-service/src/evidence/evidence-packs';
import { FieldMap, FormErrors, formResult, Posted, text } from '../shared/forms';
import { ForRoles, PortalRequest, SignedIn } from '../shared/http-context';
import { submitForm } from '../shared/page-actions';
import { Pages } from '../shared/pages';
import { ok, Services } from '../shared/services';
import { PACK_STATUS, PackSummary, PackWithTables, sendPackFile } from '../steward/packs';
import { idParam } from '../worker/worker-paths';
import { DELIVERY_PAGE, deliveryPager, FEED_PAGE, FeedPlace, feedPager, feedPlace } from './feed-paging';

interface Webhook {
  webhook: { url: string; setBy: string; setAt: string } | null;
  deliveries: {
    deliveryId: string;
    packId: string;
    status: string;
    attempts: number;
    attemptLog: { at: string; url: string; statusCode: number | null; error?: string | null }[];
  }[];
}

const WEBHOOK: FieldMap = { url: { id: 'url', label: 'Web address' } };
const TABLE_FILE = /^[a-z0-9-]{1,60}\.csv$/;

/**
 * A statutory body's pages: the evidence packs published to it (as a page, PDF, CSV and JSON, each fetched
 * from the projection service as the signed-in user and passed on byte for byte), whether each is intact, and
 * its feed and webhook.
 */
@ForRoles('statutory-reader')
@Controller('statutory')
export class StatutoryController {
  constructor(
    private readonly pages: Pages,
    private readonly services: Services,
  ) {}

  @Get()
  async packs(@Req() req: PortalRequest, @Res() res: Response, @SignedIn() actor: Actor) {
    const packs = ok(await this.services.as(actor).projection<PackSummary[]>('GET', '/evidence-packs'));
    this.pages.render(req, res, 'statutory/templates/packs.njk', {
      title: 'Evidence published to you',
      packs: [...packs].sort((a, b) =>
        (b.publication?.publishedAt ?? '').localeCompare(a.publication?.publishedAt ?? ''),
      ),
    });
  }

  @Get('packs/:id')
  async pack(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @SignedIn() actor: Actor,
  ) {
    const packId = idParam(id);
    const api = this.services.as(actor);
    const [pack, verification] = await Promise.all([
      api.projection<PackWithTables>('GET', `/evidence-packs/${packId}`),
      api.projection<PackVerification>('GET', `/evidence-packs/${packId}/verification`),
    ]);
    const p = ok(pack);
    this.pages.render(req, res, 'statutory/templates/pack.njk', {
      title: 'An evidence pack',
      p: { ...p, statusText: PACK_STATUS[p.status] },
      tables: p.contents.tables,
      verification: ok(verification),
    });
  }

  /** The pack as the projection service prints it, shown on its own (its own styles; no script runs in it). */
  @Get('packs/:id/pack.html')
  async html(@Res() res: Response, @Param('id') id: string, @SignedIn() actor: Actor) {
    await this.pass(res, actor, `/evidence-packs/${idParam(id)}/pack.html`, null);
  }

  @Get('packs/:id/pack.pdf')
  async pdf(@Res() res: Response, @Param('id') id: string, @SignedIn() actor: Actor) {
    await this.pass(res, actor, `/evidence-packs/${idParam(id)}/pack.pdf`, `evidence-${id}.pdf`);
  }

  @Get('packs/:id/pack.json')
  async json(@Res() res: Response, @Param('id') id: string, @SignedIn() actor: Actor) {
    await this.pass(res, actor, `/evidence-packs/${idParam(id)}`, `evidence-${id}.json`);
  }

  @Get('packs/:id/tables/:table')
  async csv(
    @Res() res: Response,
    @Param('id') id: string,
    @Param('table') table: string,
    @SignedIn() actor: Actor,
  ) {
    if (!TABLE_FILE.test(table)) throw new NotFoundException();
    await this.pass(res, actor, `/evidence-packs/${idParam(id)}/tables/${table}`, table);
  }

  /** The feed a page at a time (`?after=` the service's cursor), and the deliveries (`?deliveries=` a page). */
  @Get('feed')
  async feed(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @SignedIn() actor: Actor,
    @Query() query: Posted,
  ) {
    await this.renderFeed(req, res, actor, {}, undefined, undefined, feedPlace(query));
  }

  /** Sets the webhook and shows its new signing secret, this once: it is never stored by the portal. */
  @Post('webhook')
  async setWebhook(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Body() body: Posted,
    @SignedIn() actor: Actor,
  ) {
    const result = formResult(
      await this.services
        .as(actor)
        .projection<{ url: string; secret: string }>('PUT', `/feeds/${actor.organisation}/webhook`, {
          url: text(body, 'url'),
        }),
      WEBHOOK,
    );
    if (!result.ok) return this.renderFeed(req, res, actor, body, result.errors);
    await this.renderFeed(req, res, actor, {}, undefined, result.body.secret);
  }

  @Post('webhook/removal')
  async removeWebhook(@Req() req: PortalRequest, @Res() res: Response, @SignedIn() actor: Actor) {
    await submitForm(req, res, {
      fields: WEBHOOK,
      send: () => this.services.as(actor).projection('DELETE', `/feeds/${actor.organisation}/webhook`),
      done: () => ({
        say: 'The webhook is removed. Your feed still holds every pack.',
        to: '/statutory/feed',
      }),
      showErrors: (e) => this.renderFeed(req, res, actor, {}, e),
    });
  }

  @Post('deliveries/:id/replay')
  async replay(
    @Req() req: PortalRequest,
    @Res() res: Response,
    @Param('id') id: string,
    @SignedIn() actor: Actor,
  ) {
    const path = `/feeds/${actor.organisation}/deliveries/${idParam(id)}/replay`;
    await submitForm(req, res, {
      fields: WEBHOOK,
      send: () => this.services.as(actor).projection('POST', path),
      done: () => ({ say: 'The delivery will be attempted again in a moment.', to: '/statutory/feed' }),
      showErrors: (e) => this.renderFeed(req, res, actor, {}, e),
    });
  }

  private async renderFeed(
    req: PortalRequest,
    res: Response,
    actor: Actor,
    form: Posted,
    errors?: FormErrors,
    secret?: string,
    place: FeedPlace = { after: '', trail: [], deliveries: 1 },
  ) {
    const api = this.services.as(actor);
    // One entry more than the page shows: if it comes, there is a next page, which starts after the last shown.
    const query = new URLSearchParams({
      limit: String(FEED_PAGE + 1),
      ...(place.after ? { after: place.after } : {}),
    });
    const [feed, hook] = await Promise.all([
      api.projection<{
        entries: {
          cursor: string;
          packId: string;
          publishedAt?: string;
          period?: { from: string; to: string };
        }[];
      }>('GET', `/feeds/${actor.organisation}?${query}`),
      api.projection<Webhook>('GET', `/feeds/${actor.organisation}/webhook`),
    ]);
    // A cursor the service refuses (typed or altered by hand) is a page that does not exist.
    if (!feed.ok && feed.problem.status === 400) throw new NotFoundException();
    const entries = ok(feed).entries;
    const shown = entries.slice(0, FEED_PAGE);
    const w = ok(hook);
    const first = (place.deliveries - 1) * DELIVERY_PAGE;
    this.pages.render(req, res, 'statutory/templates/feed.njk', {
      title: 'Your feed and webhook',
      entries: shown,
      feedPager: feedPager(place, entries.length > FEED_PAGE ? (shown.at(-1)?.cursor ?? null) : null),
      webhook: w.webhook,
      deliveries: w.deliveries.slice(first, first + DELIVERY_PAGE),
      deliveryCount: w.deliveries.length,
      deliveryPageSize: DELIVERY_PAGE,
      deliveryPager: deliveryPager(place, w.deliveries.length),
      secret,
      form: { url: form.url ?? w.webhook?.url ?? '' },
      errors,
    });
  }

  private pass(res: Response, actor: Actor, path: string, download: string | null) {
    return sendPackFile(this.services, res, actor, path, download);
  }
}
