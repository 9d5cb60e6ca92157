import { randomBytes } from 'node:crypto';
import { ERASURE_GROUNDS, PersonCommand, person, personStream } from '@app/domain';
import { Actor, Allow, CurrentActor, forbidden, notFound, Problem, parseInput } from '@app/platform';
import { matchKey, openFor, sealFor } from '@app/privacy';
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Put, Req } from '@nestjs/common';
import { CommandBus, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Request } from 'express';
import { z } from 'zod';
import { assertOwnPartner, correlationOf, personRefSchema } from '../shared/http';
import { PARTNER_RUNTIME, PartnerRuntime } from '../shared/partner-runtime';
import { CommandContext, runCommand } from '../shared/run-command';
import { JOURNEY_RECORD_PATHS, JOURNEY_RECORDS, JourneyRecordPath, newRecordId } from './journey-records';

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine(
    (d) => !Number.isNaN(Date.parse(d)) && new Date(d).toISOString().startsWith(d),
    'is not a real date',
  );

/** The identifiers that find a person at another door (through a keyed hash, never sent on). */
export const identifiersInput = z
  .object({
    name: z.string().trim().min(1, 'is required').max(200, 'must be at most 200 characters'),
    dateOfBirth: isoDate.refine(
      (d) => d >= '1900-01-01' && Date.parse(d) <= Date.now(),
      'must be a past date after 1900',
    ),
  })
  .strict();

export const registerPersonInput = identifiersInput
  .extend({
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

export const whatMattersInput = z
  .object({ whatMatters: z.string().trim().min(1, 'is required: in the person’s own words').max(5000) })
  .strict();

export const erasureInput = z
  .object({
    ground: z.enum(ERASURE_GROUNDS, {
      errorMap: () => ({ message: `must be one of ${ERASURE_GROUNDS.join(', ')}` }),
    }),
  })
  .strict();

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** A consortium reference: the only identifier of a person that crosses organisations. */
export function newPersonRef(prefix: string): string {
  return `${prefix}-${[...randomBytes(10)].map((b) => CROCKFORD[b % 32]).join('')}`;
}

export class RegisterPerson {
  constructor(
    readonly input: z.output<typeof registerPersonInput>,
    readonly ctx: CommandContext,
  ) {}
}

/** Any command on a person's journey here, its personal fields already sealed. */
export class ActOnJourney {
  constructor(
    readonly personRef: string,
    readonly command: PersonCommand,
    readonly ctx: CommandContext,
  ) {}
}

@CommandHandler(RegisterPerson)
export class RegisterPersonHandler implements ICommandHandler<RegisterPerson> {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  async execute({ input, ctx }: RegisterPerson): Promise<{ personRef: string }> {
    const { keys } = this.runtime;
    const personRef = newPersonRef(this.runtime.consortium.referencePrefix);
    const at = this.runtime.clock.now().toISOString();
    // Personal fields are sealed under the person's own keys before anything is stored or published.
    await keys.addPerson(personRef);
    const identity = (v: unknown) => sealFor(keys, personRef, 'identity', at, v);
    const personal = {
      name: await identity(input.name),
      dateOfBirth: await identity(input.dateOfBirth),
      contact: await identity(input.contact),
      whatMatters: await sealFor(keys, personRef, 'what-matters', at, input.whatMatters),
    };
    await runCommand(
      this.runtime,
      person,
      personStream(personRef),
      personRef,
      { type: 'RegisterPerson', personRef, personal, at },
      ctx,
    );
    // Only once the registration is recorded: a match key never points at a person who does not exist.
    await keys.recordMatchKey(personRef, matchKey(this.runtime.matchingSecret, input));
    return { personRef };
  }
}

@CommandHandler(ActOnJourney)
export class ActOnJourneyHandler implements ICommandHandler<ActOnJourney> {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  async execute({ personRef, command, ctx }: ActOnJourney): Promise<void> {
    await runCommand(this.runtime, person, personStream(personRef), personRef, command, ctx);
  }
}

@Controller('people')
export class PeopleController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime,
  ) {}

  @Allow('person.register')
  @Post()
  async register(@Body() body: unknown, @CurrentActor() actor: Actor, @Req() req: Request) {
    assertOwnPartner(this.runtime, actor);
    const input = parseInput(registerPersonInput, body);
    return this.commands.execute(new RegisterPerson(input, { actor, correlationId: correlationOf(req) }));
  }

  /**
   * Someone walks in at this door: does the consortium already hold a journey for them? Matched by a keyed
   * hash of their name and date of birth; the answer names no content, only whether a journey exists.
   */
  @Allow('person.lookup')
  @Post('lookup')
  @HttpCode(200)
  async lookup(@Body() body: unknown, @CurrentActor() actor: Actor) {
    assertOwnPartner(this.runtime, actor);
    const input = parseInput(identifiersInput, body);
    const refs = await this.runtime.keys.findByMatchKey(matchKey(this.runtime.matchingSecret, input));
    const journeys = await Promise.all(
      refs.map(async (personRef) => ({
        personRef,
        knownHere: (await this.runtime.store.readStream(personStream(personRef))).length > 0,
      })),
    );
    return {
      found: journeys.length > 0,
      journeys,
      next: journeys.length
        ? `A journey exists. Ask the person whether they consent to share it with ${this.runtime.partnerId}; ` +
          'if they do, welcome them here (POST /people/{ref}/arrival) and record their consent.'
        : 'No journey was found: register the person.',
    };
  }

  /** Welcomes here a person who already has a journey elsewhere; their identifiers must match it. */
  @Allow('person.arrive')
  @Post(':personRef/arrival')
  async arrival(
    @Param('personRef') ref: string,
    @Body() body: unknown,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
  ) {
    assertOwnPartner(this.runtime, actor);
    const personRef = parseInput(personRefSchema, ref, 'personRef');
    const input = parseInput(identifiersInput, body);
    const matches = await this.runtime.keys.findByMatchKey(matchKey(this.runtime.matchingSecret, input));
    if (!matches.includes(personRef))
      throw notFound('No journey with this reference matches the name and date of birth given');
    const command: PersonCommand = {
      type: 'WelcomePerson',
      personRef,
      via: { kind: 'another-door' },
      at: this.now(),
    };
    await this.commands.execute(
      new ActOnJourney(personRef, command, { actor, correlationId: correlationOf(req) }),
    );
    return { personRef, welcomed: true };
  }

  @Allow('journey.record')
  @Put(':personRef/what-matters')
  async whatMatters(
    @Param('personRef') ref: string,
    @Body() body: unknown,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
  ) {
    assertOwnPartner(this.runtime, actor);
    const personRef = parseInput(personRefSchema, ref, 'personRef');
    const { whatMatters } = parseInput(whatMattersInput, body);
    const at = this.now();
    const sealed = await sealFor(this.runtime.keys, personRef, 'what-matters', at, whatMatters);
    const command: PersonCommand = { type: 'ReviseWhatMatters', whatMatters: sealed, at };
    await this.commands.execute(
      new ActOnJourney(personRef, command, { actor, correlationId: correlationOf(req) }),
    );
    return { personRef, revised: true };
  }

  /** Records work on the journey: contacts, support, the life system, reflections, outcomes, wellbeing. */
  @Allow('journey.record')
  @Post(':personRef/journey/:record')
  async record(
    @Param('personRef') ref: string,
    @Param('record') record: string,
    @Body() body: unknown,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
  ) {
    if (!JOURNEY_RECORD_PATHS.includes(record as JourneyRecordPath)) {
      throw notFound(`There is no record "${record}"; records are ${JOURNEY_RECORD_PATHS.join(', ')}`);
    }
    if (record === 'wellbeing' && !this.runtime.consortium.wellbeing.swemwbs.enabled) {
      throw notFound('Wellbeing measures (SWEMWBS) are not switched on in this consortium’s file');
    }
    assertOwnPartner(this.runtime, actor);
    const personRef = parseInput(personRefSchema, ref, 'personRef');
    const type = JOURNEY_RECORDS[record as JourneyRecordPath];
    const input = parseInput(type.input(this.runtime), body);
    const id = newRecordId();
    const seal = (kind: Parameters<typeof sealFor>[2], at: string, v: unknown) =>
      sealFor(this.runtime.keys, personRef, kind, at, v);
    const command = await type.command(input as never, id, seal, this.now());
    await this.commands.execute(
      new ActOnJourney(personRef, command, { actor, correlationId: correlationOf(req) }),
    );
    return { personRef, id };
  }

  /**
   * Erasure, on the person's request through this partner: a consortium administrator destroys the person's
   * keys (every copy of their personal fields becomes unreadable) and the erasure is recorded here.
   */
  @Allow('person.erase')
  @Post(':personRef/erasure')
  async erase(
    @Param('personRef') ref: string,
    @Body() body: unknown,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
  ) {
    if (actor.role !== 'consortium-admin')
      throw forbidden('Only a consortium administrator can erase a person');
    const personRef = parseInput(personRefSchema, ref, 'personRef');
    const { ground } = parseInput(erasureInput, body);
    if ((await this.runtime.store.readStream(personStream(personRef))).length === 0) {
      throw notFound(
        `${personRef} is not known to ${this.runtime.partnerId}; ask through the partner that supports them`,
      );
    }
    // The keys first: once they are gone the erasure has happened, whatever happens next; recording it is idempotent.
    await this.runtime.keys.erasePerson(personRef, ground, `${actor.organisation}:${actor.userId}`);
    const command: PersonCommand = { type: 'ErasePerson', ground, at: this.now() };
    await this.commands.execute(
      new ActOnJourney(personRef, command, { actor, correlationId: correlationOf(req) }),
    );
    return { personRef, erased: true };
  }

  /** This partner's own record of the person, opened with their keys (what was erased shows as erased). */
  @Allow('person.read-record')
  @Get(':personRef')
  async read(@Param('personRef') ref: string, @CurrentActor() actor: Actor) {
    if (actor.organisation !== this.runtime.partnerId) throw notFound('No such person in your organisation');
    if (actor.role !== 'worker' && actor.role !== 'steward')
      throw new Problem(403, 'Forbidden', 'Only this partner’s staff read its records');
    const personRef = parseInput(personRefSchema, ref, 'personRef');
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

  private now(): string {
    return this.runtime.clock.now().toISOString();
  }
}
