import { randomBytes, randomUUID } from 'node:crypto';
import { CONTACT_KINDS, person, personStream } from '@app/domain';
import { Actor, CurrentActor, notFound, parseInput } from '@app/platform';
import { matchKey, openFor, sealFor } from '@app/privacy';
import { Body, Controller, Get, Inject, Param, Post, Req } from '@nestjs/common';
import { CommandBus, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Request } from 'express';
import { z } from 'zod';
import { assertOwnWorker, correlationOf, personRefSchema } from '../shared/http';
import { PARTNER_RUNTIME, PartnerRuntime } from '../shared/partner-runtime';
import { CommandContext, runCommand } from '../shared/run-command';

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine(
    (d) => !Number.isNaN(Date.parse(d)) && new Date(d).toISOString().startsWith(d),
    'is not a real date',
  );
const isoDateTime = z
  .string()
  .datetime({ offset: true, message: 'must be a date and time, e.g. 2026-11-20T10:30:00Z' });

export const registerPersonInput = z
  .object({
    name: z.string().trim().min(1, 'is required').max(200, 'must be at most 200 characters'),
    dateOfBirth: isoDate.refine(
      (d) => d >= '1900-01-01' && Date.parse(d) <= Date.now(),
      'must be a past date after 1900',
    ),
    contact: z
      .object({
        phone: z
          .string()
          .regex(/^\+?[0-9 ()-]{6,20}$/, 'must be a phone number, e.g. +44 131 555 0100')
          .optional(),
        email: z.string().email('must be an email address').max(254).optional(),
        address: z.string().max(500, 'must be at most 500 characters').optional(),
      })
      .strict()
      .default({}),
    whatMatters: z
      .string()
      .trim()
      .min(1, 'is required: what matters to the person, in their words')
      .max(5000),
  })
  .strict();

export const recordContactInput = z
  .object({
    kind: z.enum(CONTACT_KINDS, {
      errorMap: () => ({ message: `must be one of ${CONTACT_KINDS.join(', ')}` }),
    }),
    occurredAt: isoDateTime,
    durationMinutes: z.number().int('must be whole minutes').min(0).max(1440, 'must be at most a day (1440)'),
    notes: z.string().max(5000, 'must be at most 5000 characters').optional(),
  })
  .strict();

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** A consortium reference: the only identifier of a person that crosses organisations. */
export function newPersonRef(prefix: string): string {
  const bytes = randomBytes(10);
  return `${prefix}-${[...bytes].map((b) => CROCKFORD[b % 32]).join('')}`;
}

export class RegisterPerson {
  constructor(
    readonly input: z.infer<typeof registerPersonInput>,
    readonly ctx: CommandContext,
  ) {}
}

export class RecordContact {
  constructor(
    readonly personRef: string,
    readonly input: z.infer<typeof recordContactInput>,
    readonly ctx: CommandContext,
  ) {}
}

@CommandHandler(RegisterPerson)
export class RegisterPersonHandler implements ICommandHandler<RegisterPerson> {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  async execute({ input, ctx }: RegisterPerson): Promise<{ personRef: string }> {
    const personRef = newPersonRef(this.runtime.consortium.referencePrefix);
    const at = this.runtime.clock.now().toISOString();
    // Personal fields are sealed under the person's own keys before anything is stored or published.
    await this.runtime.keys.addPerson(personRef);
    const identity = (v: unknown) => sealFor(this.runtime.keys, personRef, 'identity', at, v);
    await runCommand(
      this.runtime,
      person,
      personStream(personRef),
      personRef,
      {
        type: 'RegisterPerson',
        personRef,
        personal: {
          name: await identity(input.name),
          dateOfBirth: await identity(input.dateOfBirth),
          contact: await identity(input.contact),
          whatMatters: await sealFor(this.runtime.keys, personRef, 'what-matters', at, input.whatMatters),
        },
        at,
      },
      ctx,
    );
    // Only once the registration is recorded: a match key never points at a person who does not exist.
    await this.runtime.keys.recordMatchKey(personRef, matchKey(this.runtime.matchingSecret, input));
    return { personRef };
  }
}

@CommandHandler(RecordContact)
export class RecordContactHandler implements ICommandHandler<RecordContact> {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  async execute({ personRef, input, ctx }: RecordContact): Promise<{ contactId: string }> {
    const contactId = randomUUID();
    const occurredAt = new Date(input.occurredAt).toISOString();
    const notes = input.notes
      ? await sealFor(this.runtime.keys, personRef, 'contact-notes', occurredAt, input.notes)
      : null;
    await runCommand(
      this.runtime,
      person,
      personStream(personRef),
      personRef,
      {
        type: 'RecordContact',
        contactId,
        kind: input.kind,
        occurredAt,
        durationMinutes: input.durationMinutes,
        notes,
        at: this.runtime.clock.now().toISOString(),
      },
      ctx,
    );
    return { contactId };
  }
}

@Controller('people')
export class PeopleController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime,
  ) {}

  @Post()
  async register(@Body() body: unknown, @CurrentActor() actor: Actor, @Req() req: Request) {
    assertOwnWorker(this.runtime, actor);
    const input = parseInput(registerPersonInput, body);
    return this.commands.execute(new RegisterPerson(input, { actor, correlationId: correlationOf(req) }));
  }

  @Post(':personRef/contacts')
  async recordContact(
    @Param('personRef') ref: string,
    @Body() body: unknown,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
  ) {
    assertOwnWorker(this.runtime, actor);
    const personRef = parseInput(personRefSchema, ref, 'person reference');
    const input = parseInput(recordContactInput, body);
    return this.commands.execute(
      new RecordContact(personRef, input, { actor, correlationId: correlationOf(req) }),
    );
  }

  /** This partner's own record of the person, opened with their key (or shown as erased). */
  @Get(':personRef')
  async read(@Param('personRef') ref: string, @CurrentActor() actor: Actor) {
    if (actor.organisation !== this.runtime.partnerId) throw notFound('No such person in your organisation');
    const personRef = parseInput(personRefSchema, ref, 'person reference');
    const events = await this.runtime.store.readStream(personStream(personRef));
    if (events.length === 0) throw notFound(`${personRef} is not known to ${this.runtime.partnerId}`);
    return openFor(this.runtime.keys, personRef, {
      personRef,
      events: events.map((e) => ({
        type: e.type,
        version: e.version,
        occurredAt: e.metadata.occurredAt,
        by: e.metadata.actor,
        data: e.data,
      })),
    });
  }
}
