import { randomUUID } from 'node:crypto';
import { isPartner } from '@app/consortium';
import { consent, consentStream, personStream } from '@app/domain';
import { Actor, Allow, CurrentActor, notFound, parseInput } from '@app/platform';
import { Body, Controller, Inject, Param, Post, Req } from '@nestjs/common';
import { CommandBus, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Request } from 'express';
import { z } from 'zod';
import { assertOwnPartner, correlationOf, idSchema, isoDateTime, personRefSchema } from '../shared/http';
import { PARTNER_RUNTIME, PartnerRuntime } from '../shared/partner-runtime';
import { CommandContext, runCommand } from '../shared/run-command';

export function giveConsentInput(runtime: PartnerRuntime) {
  const { consortium } = runtime;
  return z
    .object({
      partners: z
        .array(z.string().refine((p) => isPartner(consortium, p), 'is not a partner of this consortium'))
        .min(1, 'name at least one partner')
        .max(consortium.partners.length),
      purposes: z
        .array(
          z.string().refine((p) => consortium.consentPurposes.includes(p), {
            message: `must be one of ${consortium.consentPurposes.join(', ')}`,
          }),
        )
        .min(1, 'name at least one purpose'),
      validFrom: isoDateTime.optional(),
      validUntil: isoDateTime.nullable().optional(),
    })
    .strict();
}

export class GiveConsent {
  constructor(
    readonly personRef: string,
    readonly input: {
      partners: string[];
      purposes: string[];
      validFrom?: string;
      validUntil?: string | null;
    },
    readonly ctx: CommandContext,
  ) {}
}

export class WithdrawConsent {
  constructor(
    readonly personRef: string,
    readonly consentId: string,
    readonly ctx: CommandContext,
  ) {}
}

async function assertKnownHere(runtime: PartnerRuntime, personRef: string) {
  const history = await runtime.store.readStream(personStream(personRef));
  if (history.length === 0)
    throw notFound(`${personRef} is not known to ${runtime.partnerId}; register them first`);
}

@CommandHandler(GiveConsent)
export class GiveConsentHandler implements ICommandHandler<GiveConsent> {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  async execute({ personRef, input, ctx }: GiveConsent): Promise<{ consentId: string }> {
    await assertKnownHere(this.runtime, personRef);
    const consentId = randomUUID();
    const at = this.runtime.clock.now().toISOString();
    await runCommand(
      this.runtime,
      consent,
      consentStream(personRef),
      personRef,
      {
        type: 'GiveConsent',
        personRef,
        consentId,
        partners: [...new Set(input.partners)],
        purposes: [...new Set(input.purposes)],
        validFrom: input.validFrom ? new Date(input.validFrom).toISOString() : at,
        validUntil: input.validUntil ? new Date(input.validUntil).toISOString() : null,
        at,
      },
      ctx,
    );
    return { consentId };
  }
}

@CommandHandler(WithdrawConsent)
export class WithdrawConsentHandler implements ICommandHandler<WithdrawConsent> {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  async execute({ personRef, consentId, ctx }: WithdrawConsent): Promise<{ withdrawn: true }> {
    const at = this.runtime.clock.now().toISOString();
    await runCommand(
      this.runtime,
      consent,
      consentStream(personRef),
      personRef,
      { type: 'WithdrawConsent', personRef, consentId, at },
      ctx,
    );
    return { withdrawn: true };
  }
}

@Controller('people/:personRef/consents')
export class ConsentController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime,
  ) {}

  @Allow('consent.record')
  @Post()
  async give(
    @Param('personRef') ref: string,
    @Body() body: unknown,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
  ) {
    assertOwnPartner(this.runtime, actor);
    const personRef = parseInput(personRefSchema, ref, 'person reference');
    const input = parseInput(giveConsentInput(this.runtime), body);
    return this.commands.execute(
      new GiveConsent(personRef, input, { actor, correlationId: correlationOf(req) }),
    );
  }

  @Allow('consent.record')
  @Post(':consentId/withdrawal')
  async withdraw(
    @Param('personRef') ref: string,
    @Param('consentId') id: string,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
  ) {
    assertOwnPartner(this.runtime, actor);
    const personRef = parseInput(personRefSchema, ref, 'person reference');
    const consentId = parseInput(idSchema, id, 'consent id');
    return this.commands.execute(
      new WithdrawConsent(personRef, consentId, { actor, correlationId: correlationOf(req) }),
    );
  }
}
