import { randomUUID } from 'node:crypto';
import { isPartner, isStatutoryBody } from '@app/consortium';
import { person, personStream, ReferralEvent, referral, referralStream } from '@app/domain';
import { Actor, CurrentActor, notFound, parseInput } from '@app/platform';
import { sealFor } from '@app/privacy';
import { Body, Controller, Inject, Param, Post, Req } from '@nestjs/common';
import { CommandBus, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Request } from 'express';
import { z } from 'zod';
import { assertOwnWorker, correlationOf, idSchema, personRefSchema } from '../shared/http';
import { PARTNER_RUNTIME, PartnerRuntime } from '../shared/partner-runtime';
import { CommandContext, loadState, runCommand } from '../shared/run-command';

function requestReferralInput(runtime: PartnerRuntime) {
  const c = runtime.consortium;
  return z
    .object({
      personRef: personRefSchema,
      toOrganisation: z
        .string()
        .refine(
          (o) => isPartner(c, o) || isStatutoryBody(c, o),
          'is not a partner or statutory service of this consortium',
        ),
      reason: z.string().trim().min(1, 'is required: why this referral, in a sentence or two').max(2000),
    })
    .strict();
}

export class RequestReferral {
  constructor(
    readonly input: { personRef: string; toOrganisation: string; reason: string },
    readonly ctx: CommandContext,
  ) {}
}

export class AcceptReferral {
  constructor(
    readonly referralId: string,
    readonly ctx: CommandContext,
  ) {}
}

/** The receiving side takes in a referral it saw on the backbone (a system actor, caused by that event). */
export class ReceiveReferral {
  constructor(
    readonly requested: Extract<ReferralEvent, { type: 'ReferralRequested' }>['data'],
    readonly ctx: CommandContext,
  ) {}
}

@CommandHandler(RequestReferral)
export class RequestReferralHandler implements ICommandHandler<RequestReferral> {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  async execute({ input, ctx }: RequestReferral): Promise<{ referralId: string }> {
    const { personRef } = input;
    if ((await this.runtime.store.readStream(personStream(personRef))).length === 0) {
      throw notFound(`${personRef} is not known to ${this.runtime.partnerId}; register them first`);
    }
    const referralId = randomUUID();
    const at = this.runtime.clock.now().toISOString();
    const reason = await sealFor(this.runtime.keys, personRef, 'referral-reasons', at, input.reason);
    await runCommand(
      this.runtime,
      referral,
      referralStream(referralId),
      personRef,
      {
        type: 'RequestReferral',
        referralId,
        personRef,
        fromPartner: this.runtime.partnerId,
        toOrganisation: input.toOrganisation,
        reason,
        at,
      },
      ctx,
    );
    return { referralId };
  }
}

@CommandHandler(ReceiveReferral)
export class ReceiveReferralHandler implements ICommandHandler<ReceiveReferral> {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  async execute({ requested, ctx }: ReceiveReferral): Promise<void> {
    const { reason: _, ...facts } = requested;
    await runCommand(
      this.runtime,
      referral,
      referralStream(requested.referralId),
      requested.personRef,
      { type: 'ReceiveReferral', ...facts, at: this.runtime.clock.now().toISOString() },
      ctx,
    );
  }
}

@CommandHandler(AcceptReferral)
export class AcceptReferralHandler implements ICommandHandler<AcceptReferral> {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  async execute({ referralId, ctx }: AcceptReferral): Promise<{ status: 'accepted' }> {
    const at = this.runtime.clock.now().toISOString();
    const accept = { type: 'AcceptReferral' as const, referralId, partner: this.runtime.partnerId, at };
    const state = await loadState(this.runtime, referral, referralStream(referralId));
    referral.decide(accept, state); // refuses (404, 409) here, before anything is written
    if (state.status === 'none') throw new Error('unreachable: decide refuses a referral that is not here');
    // The person becomes known here first (idempotent), so an acceptance is never recorded for a person
    // this partner's workers then could not record their work with.
    const { personRef, fromPartner } = state;
    const welcome = { type: 'WelcomeReferredPerson' as const, personRef, referralId, fromPartner, at };
    await runCommand(this.runtime, person, personStream(personRef), personRef, welcome, ctx);
    // Keyed by the person, so the acceptance stays in order behind the request on the backbone.
    await runCommand(this.runtime, referral, referralStream(referralId), personRef, accept, ctx);
    return { status: 'accepted' };
  }
}

@Controller('referrals')
export class ReferralsController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime,
  ) {}

  @Post()
  async request(@Body() body: unknown, @CurrentActor() actor: Actor, @Req() req: Request) {
    assertOwnWorker(this.runtime, actor);
    const input = parseInput(requestReferralInput(this.runtime), body);
    return this.commands.execute(new RequestReferral(input, { actor, correlationId: correlationOf(req) }));
  }

  @Post(':referralId/acceptance')
  async accept(@Param('referralId') id: string, @CurrentActor() actor: Actor, @Req() req: Request) {
    assertOwnWorker(this.runtime, actor);
    const referralId = parseInput(idSchema, id, 'referral id');
    return this.commands.execute(
      new AcceptReferral(referralId, { actor, correlationId: correlationOf(req) }),
    );
  }
}
