import { randomUUID } from 'node:crypto';
import { isStatutoryBody } from '@app/consortium';
import {
  ASK_OUTCOMES,
  CYCLE_LINK_RELATIONS,
  CYCLE_SCALES,
  DIRECTIONS,
  ISSUE_LEVELS,
  ISSUE_OWNERS,
  ISSUE_SOURCE_KINDS,
  IssueCommand,
  issue,
  issueStream,
  LearningCycleCommand,
  learningCycle,
  learningCycleStream,
  TeamReflectionCommand,
  teamReflection,
  teamReflectionStream,
} from '@app/domain';
import { Actor, Allow, badRequest, CurrentActor, forbidden, notFound, parseInput } from '@app/platform';
import { Body, Controller, Inject, Param, Post, Req } from '@nestjs/common';
import { CommandBus, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Request } from 'express';
import { z } from 'zod';
import { assertOwnPartner, correlationOf, idSchema, isoDateTime } from '../shared/http';
import { PARTNER_RUNTIME, PartnerRuntime } from '../shared/partner-runtime';
import { CommandContext, runCommand } from '../shared/run-command';

const text = z.string().trim().min(1, 'must not be empty').max(5000, 'must be at most 5000 characters');
const texts = z.array(text).max(50);
const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { errorMap: () => ({ message: `must be one of ${values.join(', ')}` }) });
const findings = {
  patternsSeen: texts,
  learningForThisScale: text,
  learningForOtherSystems: texts.default([]),
};

/**
 * The stages of a learning cycle, in the seed's words, each posted to `/learning-cycles/{id}/{stage}`: the
 * answers to that stage's questions. One table for routes, validation and the API description.
 */
export const CYCLE_STAGES = {
  purpose: { type: 'SetCyclePurpose', input: z.object({ purpose: text }).strict() },
  'system-understanding': {
    type: 'RecordSystemUnderstanding',
    input: z
      .object({
        actors: texts,
        relationships: texts.default([]),
        factors: texts,
        learningTogether: text.nullable().default(null),
      })
      .strict(),
  },
  experiments: {
    type: 'DesignExperiment',
    input: z
      .object({
        experimentId: idSchema.optional(),
        question: text,
        actions: texts,
        dataToCollect: texts,
        sensemaking: text,
        safeToFail: text,
        countermeasures: texts.default([]),
      })
      .strict(),
  },
  'experiment-start': { type: 'StartExperiment', input: z.object({ experimentId: idSchema }).strict() },
  'experiment-learning': {
    type: 'RecordExperimentLearning',
    input: z.object({ experimentId: idSchema, ...findings }).strict(),
  },
  'experiment-conclusion': {
    type: 'ConcludeExperiment',
    input: z.object({ experimentId: idSchema, ...findings }).strict(),
  },
  embedding: { type: 'RecordEmbedding', input: z.object({ bauChanges: texts }).strict() },
  influencing: {
    type: 'RecordInfluencing',
    input: z
      .object({
        changes: z
          .array(z.object({ whose: text, direction: oneOf(DIRECTIONS), change: text }).strict())
          .max(50),
      })
      .strict(),
  },
  management: {
    type: 'RecordCycleManagement',
    input: z
      .object({
        operatingEffectively: text,
        whatNeedsToChange: text.nullable().default(null),
        timeToAllocate: text,
        resources: texts.default([]),
        enablers: texts.default([]),
        barriers: texts.default([]),
        connectWith: texts.default([]),
      })
      .strict(),
  },
  governance: {
    type: 'RecordCycleGovernance',
    input: z
      .object({
        areLessonsBeingLearnt: text,
        howLearningChangesPractice: text,
        howPracticeBecomesInfrastructure: text,
        howLearningAchievesPurpose: text,
        howWeKnow: text,
        evaluationMechanisms: texts.default([]),
        accountTo: texts.default([]),
        whoIsIncluded: texts.default([]),
        whoIsExcluded: texts.default([]),
        areBoundariesRight: text,
      })
      .strict(),
  },
  links: {
    type: 'LinkCycles',
    input: z.object({ to: idSchema, relation: oneOf(CYCLE_LINK_RELATIONS) }).strict(),
  },
  closure: { type: 'CloseLearningCycle', input: z.object({ why: text }).strict() },
} as const;

/** The issue log's changes, each posted to `/issues/{id}/{change}`. */
export const ISSUE_CHANGES = {
  countermeasure: { type: 'SetCountermeasure', input: z.object({ countermeasure: text }).strict() },
  'system-change': { type: 'SetSystemChange', input: z.object({ systemChange: text }).strict() },
  escalation: {
    type: 'EscalateIssue',
    input: z
      .object({
        level: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
        owner: oneOf(ISSUE_OWNERS).optional(),
        reason: text,
      })
      .strict(),
  },
  evidence: {
    type: 'LinkEvidence',
    input: z
      .object({ link: z.object({ kind: text, ref: text, note: text.nullable().default(null) }).strict() })
      .strict(),
  },
  asks: {
    type: 'AskStatutoryBody',
    input: z
      .object({ body: z.string().trim().min(1, 'name the statutory body').max(60), ask: text })
      .strict(),
  },
  'ask-outcomes': {
    type: 'RecordAskOutcome',
    input: z.object({ askId: idSchema, outcome: oneOf(ASK_OUTCOMES), response: text }).strict(),
  },
  closure: { type: 'CloseIssue', input: z.object({ whatChanged: text }).strict() },
  reopening: { type: 'ReopenIssue', input: z.object({ reason: text }).strict() },
} as const;

export const conveneInput = z
  .object({ title: text, scale: oneOf(CYCLE_SCALES), team: text.optional(), purpose: text.optional() })
  .strict();

export const raiseIssueInput = z
  .object({
    description: text,
    level: z.union([z.literal(1), z.literal(2), z.literal(3)], {
      errorMap: () => ({ message: `must be one of ${ISSUE_LEVELS.join(', ')}` }),
    }),
    owner: oneOf(ISSUE_OWNERS),
    raisedFrom: z.object({ kind: oneOf(ISSUE_SOURCE_KINDS), ref: text }).strict(),
    evidence: z
      .array(z.object({ kind: text, ref: text, note: text.nullable().default(null) }).strict())
      .max(50)
      .default([]),
  })
  .strict();

export const reflectiveSessionInput = z
  .object({
    heldAt: isoDateTime,
    whatHappened: text,
    whatIsWorking: text,
    whatIsWorkingLessWell: text,
    whatShouldChange: text,
    attendeeCount: z.number().int().min(1).max(500),
  })
  .strict();

type Learning =
  | { kind: 'cycle'; id: string; command: LearningCycleCommand }
  | { kind: 'issue'; id: string; command: IssueCommand }
  | { kind: 'team'; id: string; command: TeamReflectionCommand };

/** Any learning command: a stage of a cycle, a change to the issue log, a team's reflective session. */
export class RecordLearning {
  constructor(
    readonly learning: Learning,
    readonly ctx: CommandContext,
  ) {}
}

@CommandHandler(RecordLearning)
export class RecordLearningHandler implements ICommandHandler<RecordLearning> {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  async execute({ learning, ctx }: RecordLearning): Promise<void> {
    const r = this.runtime;
    switch (learning.kind) {
      case 'cycle':
        await runCommand(
          r,
          learningCycle,
          learningCycleStream(learning.id),
          learning.id,
          learning.command,
          ctx,
        );
        return;
      case 'issue':
        await runCommand(r, issue, issueStream(learning.id), learning.id, learning.command, ctx);
        return;
      case 'team':
        await runCommand(
          r,
          teamReflection,
          teamReflectionStream(learning.id),
          learning.id,
          learning.command,
          ctx,
        );
        return;
    }
  }
}

/** Learning at four scales: learning cycles, team reflective practice, and the issue log. */
@Controller()
export class LearningController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime,
  ) {}

  @Allow('learning.record')
  @Post('learning-cycles')
  async convene(@Body() body: unknown, @CurrentActor() actor: Actor, @Req() req: Request) {
    assertOwnPartner(this.runtime, actor);
    const input = parseInput(conveneInput, body);
    // A place is convened by its system stewards.
    if (input.scale === 'place' && actor.role !== 'steward')
      throw forbidden('A learning cycle across the place is convened by a steward');
    const cycleId = randomUUID();
    const at = this.now();
    const owner = { partner: this.runtime.partnerId, ...(input.team ? { team: input.team } : {}) };
    await this.record(
      {
        kind: 'cycle',
        id: cycleId,
        command: {
          type: 'ConveneLearningCycle',
          cycleId,
          title: input.title,
          scale: input.scale,
          owner,
          convenedBy: actor.userId,
          at,
        },
      },
      actor,
      req,
    );
    if (input.purpose)
      await this.record(
        {
          kind: 'cycle',
          id: cycleId,
          command: { type: 'SetCyclePurpose', cycleId, purpose: input.purpose, at },
        },
        actor,
        req,
      );
    return { cycleId };
  }

  @Allow('learning.record')
  @Post('learning-cycles/:cycleId/:stage')
  async stage(
    @Param('cycleId') id: string,
    @Param('stage') stage: string,
    @Body() body: unknown,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
  ) {
    const step = CYCLE_STAGES[stage as keyof typeof CYCLE_STAGES];
    if (!step)
      throw notFound(`There is no stage "${stage}"; the stages are ${Object.keys(CYCLE_STAGES).join(', ')}`);
    assertOwnPartner(this.runtime, actor);
    const cycleId = parseInput(idSchema, id, 'cycleId');
    const input = parseInput(step.input, body);
    // A new experiment gets its id here unless the worker chose one.
    const withId = step.type === 'DesignExperiment' ? { experimentId: randomUUID(), ...input } : input;
    const command = { type: step.type, cycleId, at: this.now(), ...withId } as LearningCycleCommand;
    await this.record({ kind: 'cycle', id: cycleId, command }, actor, req);
    return { cycleId, ...('experimentId' in withId ? { experimentId: withId.experimentId } : {}) };
  }

  @Allow('learning.record')
  @Post('teams/:team/reflective-sessions')
  async reflect(
    @Param('team') teamParam: string,
    @Body() body: unknown,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
  ) {
    assertOwnPartner(this.runtime, actor);
    const team = parseInput(
      z.string().regex(/^[a-z0-9-]{1,60}$/, 'is a team name in lower case with hyphens'),
      teamParam,
      'team',
    );
    const input = parseInput(reflectiveSessionInput, body);
    const sessionId = randomUUID();
    const command: TeamReflectionCommand = {
      type: 'RecordReflectiveSession',
      sessionId,
      team,
      ...input,
      heldAt: new Date(input.heldAt).toISOString(),
      at: this.now(),
    };
    await this.record({ kind: 'team', id: `${this.runtime.partnerId}.${team}`, command }, actor, req);
    return { sessionId };
  }

  @Allow('learning.record')
  @Post('issues')
  async raise(@Body() body: unknown, @CurrentActor() actor: Actor, @Req() req: Request) {
    assertOwnPartner(this.runtime, actor);
    const input = parseInput(raiseIssueInput, body);
    if (input.owner === 'government' && actor.role !== 'steward')
      throw forbidden('An issue for government is raised by a steward');
    const issueId = randomUUID();
    await this.record(
      { kind: 'issue', id: issueId, command: { type: 'RaiseIssue', issueId, ...input, at: this.now() } },
      actor,
      req,
    );
    return { issueId };
  }

  @Allow('learning.record')
  @Post('issues/:issueId/:change')
  async change(
    @Param('issueId') id: string,
    @Param('change') change: string,
    @Body() body: unknown,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
  ) {
    const step = ISSUE_CHANGES[change as keyof typeof ISSUE_CHANGES];
    if (!step)
      throw notFound(
        `There is no change "${change}"; the changes are ${Object.keys(ISSUE_CHANGES).join(', ')}`,
      );
    assertOwnPartner(this.runtime, actor);
    const issueId = parseInput(idSchema, id, 'issueId');
    const input = parseInput(step.input, body);
    // Escalating to government is a steward's call: it speaks for the organisation.
    if (
      change === 'escalation' &&
      (input as { owner?: string }).owner === 'government' &&
      actor.role !== 'steward'
    ) {
      throw forbidden('Escalating an issue to government is for a steward');
    }
    // An ask of a statutory body speaks for the consortium: a steward's, of a body the consortium names.
    const asked = change === 'asks' ? (input as { body: string }).body : null;
    if (asked !== null) {
      if (actor.role !== 'steward') throw forbidden('Asking a statutory body is for a steward');
      if (!isStatutoryBody(this.runtime.consortium, asked))
        throw badRequest('There is no such statutory body in this consortium', [
          {
            field: 'body',
            reason: `must be one of ${this.runtime.consortium.statutoryBodies.map((b) => b.id).join(', ')}`,
          },
        ]);
    }
    const withId = asked !== null ? { askId: randomUUID(), ...input } : input;
    const command = { type: step.type, issueId, at: this.now(), ...withId } as IssueCommand;
    await this.record({ kind: 'issue', id: issueId, command }, actor, req);
    return { issueId, ...('askId' in withId ? { askId: withId.askId } : {}) };
  }

  private record(learning: Learning, actor: Actor, req: Request) {
    return this.commands.execute(new RecordLearning(learning, { actor, correlationId: correlationOf(req) }));
  }

  private now() {
    return this.runtime.clock.now().toISOString();
  }
}
