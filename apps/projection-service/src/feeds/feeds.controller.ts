import { Actor, Allow, badRequest, CurrentActor, forbidden, notFound, parseInput } from '@app/platform';
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query } from '@nestjs/common';
import { z } from 'zod';
import { EVIDENCE, EvidenceRuntime } from '../evidence/evidence-packs.controller';
import { decodeCursor, readFeed } from './feed';
import { WebhookDispatcher } from './webhooks';

export const WEBHOOKS = Symbol('WEBHOOKS');

const feedQuery = z
  .object({
    after: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
  })
  .strict();

// HTTPS anywhere; plain HTTP only to this machine (for a body's own test receiver).
export const webhookInput = z
  .object({
    url: z
      .string()
      .url('must be a URL')
      .max(2000)
      .refine((u) => {
        const url = new URL(u);
        return (
          url.protocol === 'https:' ||
          (url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname))
        );
      }, 'must be an https URL'),
  })
  .strict();

/**
 * Each statutory body's feed of what is published to it: pulled with a cursor, or pushed to its webhook.
 * A body sees only its own feed; the consortium's administrator can see any, to help.
 */
@Controller('feeds/:body')
export class FeedsController {
  constructor(
    @Inject(EVIDENCE) private readonly evidence: EvidenceRuntime,
    @Inject(WEBHOOKS) private readonly webhooks: WebhookDispatcher,
  ) {}

  @Allow('feed.read')
  @Get()
  async feed(@Param('body') body: string, @Query() query: unknown, @CurrentActor() actor: Actor) {
    ownFeed(body, actor);
    const { after, limit } = parseInput(feedQuery, query, 'query');
    const from = decodeCursor(after);
    if (!from)
      throw badRequest('The cursor is not one this feed gave out', [
        { field: 'after', reason: 'pass back the "next" or an entry\'s "cursor" exactly as received' },
      ]);
    return readFeed(this.evidence.packs.store, this.evidence.packs, body, from, limit);
  }

  @Allow('feed.manage')
  @Get('webhook')
  webhook(@Param('body') body: string, @CurrentActor() actor: Actor) {
    ownFeed(body, actor);
    return this.webhooks.describe(body);
  }

  /** Sets the webhook; the answer holds the new signing secret, shown this once. */
  @Allow('feed.manage')
  @Put('webhook')
  setWebhook(@Param('body') body: string, @Body() input: unknown, @CurrentActor() actor: Actor) {
    ownFeed(body, actor);
    const { url } = parseInput(webhookInput, input);
    return this.webhooks.setWebhook(body, url, `${actor.organisation}:${actor.userId}`);
  }

  @Allow('feed.manage')
  @Delete('webhook')
  @HttpCode(204)
  async removeWebhook(@Param('body') body: string, @CurrentActor() actor: Actor) {
    ownFeed(body, actor);
    if (!(await this.webhooks.removeWebhook(body))) throw notFound(`${body} has no webhook`);
  }

  @Allow('feed.manage')
  @Post('deliveries/:deliveryId/replay')
  @HttpCode(202)
  async replay(@Param('body') body: string, @Param('deliveryId') id: string, @CurrentActor() actor: Actor) {
    ownFeed(body, actor);
    const deliveryId = parseInput(z.string().uuid('is not a delivery id'), id, 'deliveryId');
    if (!(await this.webhooks.replay(body, deliveryId)))
      throw notFound(`There is no undelivered delivery ${deliveryId} in ${body}'s feed`);
    return { deliveryId, status: 'pending' };
  }
}

function ownFeed(body: string, actor: Actor): void {
  if (actor.role === 'consortium-admin' || actor.organisation === body) return;
  throw forbidden(
    `You are signed in for ${actor.organisation}: you can only see ${actor.organisation}'s own feed`,
  );
}
