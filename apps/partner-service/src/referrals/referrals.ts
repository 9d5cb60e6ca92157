import { randomUUID } from 'node:crypto';
import { isPartner, isStatutoryBody } from '@app/consortium';
import {
  person,
  personStream,
  REFERRAL_STATUSES,
  ReferralCommand,
  ReferralFacts,
  ReferralStatus,
  referral,
  referralStream,
} from '@app/domain';
import { Actor, Allow, CurrentActor, notFound, parseInput } from '@app/platform';
import { sealFor } from '@app/privacy';
import { Body, Controller, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { CommandBus, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Request } from 'express';
import { z } from 'zod';
import { assertOwnPartner, correlationOf, idSchema, personRefSchema } from '../shared/http';
import { PARTNER_RUNTIME, PartnerRuntime } from '../shared/partner-runtime';
import { CommandContext, loadState, runCommand } from '../shared/run-command';

export function requestReferralInput(runtime: PartnerRuntime) {
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

export const statusChangeInput = z
  .object({
    status: z.enum(REFERRAL_STATUSES, {
      errorMap: () => ({ message: `must be one of ${REFERRAL_STATUSES.join(', ')}` }),
    }),
    reason: z.string().trim().min(1, 'must not be empty').max(2000).optional(),
  })
  .strict();

export class RequestReferral {
  constructor(
    readonly input: { personRef: string; toOrganisation: string; reason: string },
    readonly ctx: CommandContext,
  ) {}
}

export class ChangeReferralStatus {
  constructor(
    readonly referralId: string,
    readonly status: ReferralStatus,
    readonly reason: string | undefined,
    readonly ctx: CommandContext,
  ) {}
}

/** Takes in what the backbone brought about a referral this partner holds (a system actor, caused by that event). */
export class TakeInReferral {
  constructor(
    readonly referralId: string,
    readonly command: ReferralCommand,
    readonly personRef: string,
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
    const facts: ReferralFacts = {
      referralId,
      personRef,
      fromPartner: this.runtime.partnerId,
      toOrganisation: input.toOrganisation,
    };
    await runCommand(
      this.runtime,
      referral,
      referralStream(referralId),
      personRef,
      { type: 'RequestReferral', ...facts, reason, at },
      ctx,
    );
    return { referralId };
  }
}

@CommandHandler(ChangeReferralStatus)
export class ChangeReferralStatusHandler implements ICommandHandler<ChangeReferralStatus> {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  async execute({
    referralId,
    status,
    reason,
    ctx,
  }: ChangeReferralStatus): Promise<{ referralId: string; status: ReferralStatus }> {
    const at = this.runtime.clock.now().toISOString();
    const state = await loadState(this.runtime, referral, referralStream(referralId));
    if (state.status === 'none')
      throw notFound(`referral ${referralId} is not among your organisation's referrals`);
    const sealed = reason
      ? await sealFor(this.runtime.keys, state.personRef, 'referral-reasons', at, reason)
      : null;
    const change: ReferralCommand = {
      type: 'ChangeReferralStatus',
      referralId,
      partner: this.runtime.partnerId,
      status,
      reason: sealed,
      at,
    };
    referral.decide(change, state); // refuses (404, 409, 400) here, before anything is written
    if (status === 'accepted') {
      // The person becomes known here first (idempotent), so an acceptance is never recorded for a person
      // this partner's workers then could not record their work with.
      const via = { kind: 'referral' as const, referralId, fromPartner: state.fromPartner };
      const welcome = { type: 'WelcomePerson' as const, personRef: state.personRef, via, at };
      await runCommand(this.runtime, person, personStream(state.personRef), state.personRef, welcome, ctx);
    }
    // Keyed by the person, so every change stays in order behind the request on the backbone.
    await runCommand(this.runtime, referral, referralStream(referralId), state.personRef, change, ctx);
    return { referralId, status };
  }
}

@CommandHandler(TakeInReferral)
export class TakeInReferralHandler implements ICommandHandler<TakeInReferral> {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  async execute({ referralId, command, personRef, ctx }: TakeInReferral): Promise<void> {
    await runCommand(this.runtime, referral, referralStream(referralId), personRef, command, ctx);
  }
}

@Controller('referrals')
export class ReferralsController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime,
  ) {}

  @Allow('referral.request')
  @Post()
  async request(@Body() body: unknown, @CurrentActor() actor: Actor, @Req() req: Request) {
    assertOwnPartner(this.runtime, actor);
    const input = parseInput(requestReferralInput(this.runtime), body);
    return this.commands.execute(new RequestReferral(input, { actor, correlationId: correlationOf(req) }));
  }

  /** Any move the FHIR referral workflow allows this side: accept, reject, start, hold, complete, cancel, … */
  @Allow('referral.answer')
  @Post(':referralId/status')
  @HttpCode(200)
  async changeStatus(
    @Param('referralId') id: string,
    @Body() body: unknown,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
  ) {
    assertOwnPartner(this.runtime, actor);
    const referralId = parseInput(idSchema, id, 'referralId');
    const { status, reason } = parseInput(statusChangeInput, body);
    return this.commands.execute(
      new ChangeReferralStatus(referralId, status, reason, { actor, correlationId: correlationOf(req) }),
    );
  }

  /** The most common answer, in one step. */
  @Allow('referral.answer')
  @Post(':referralId/acceptance')
  async accept(@Param('referralId') id: string, @CurrentActor() actor: Actor, @Req() req: Request) {
    assertOwnPartner(this.runtime, actor);
    const referralId = parseInput(idSchema, id, 'referralId');
    return this.commands.execute(
      new ChangeReferralStatus(referralId, 'accepted', undefined, {
        actor,
        correlationId: correlationOf(req),
      }),
    );
  }
}
