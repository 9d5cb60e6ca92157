import { Decider, DomainEvent } from '../shared/aggregate';
import { refuse, unreachable } from '../shared/domain-error';

/**
 * A Human Learning Systems learning cycle, in the seed's stages: it starts with purpose; understand the system
 * (actors, relationships, factors); co-design experiments; do them and learn (for this scale and for others);
 * embed (our business as usual changes); influence (others' business as usual must change); and manage and
 * govern the cycle itself. Stream: `learning-cycle-<id>`, in the store of the partner that owns it.
 *
 * Cycles run at every scale (person, team, organisation, place) and form a connected stack: a cycle arises
 * from a pattern seen in another, is convened by a steward's cycle at another scale, informs or escalates to
 * another. The link is recorded on the cycle it starts from; `linksOf` follows the stack both ways.
 *
 * Not sealed, on purpose: the answers recorded here are about systems (patterns, policies, practice), not about
 * a named person, and stewards and statutory bodies read them. A person-scale cycle must therefore be written
 * about the pattern in the person's life as a system; what is personal about that person (their story, their
 * words, their measures) stays on their journey (`person-<ref>`), sealed under their keys. No consortium
 * reference, name or narrative about a person belongs in any field here.
 *
 * Scale: the Decider records at 'organisation' by default, but each cycle has its own scale, carried in every
 * event's data as `cycleScale`; the service records each event at `scaleOfCycleEvent(event)`.
 */
export const learningCycleStream = (cycleId: string) => `learning-cycle-${cycleId}`;

export const CYCLE_SCALES = ['person', 'team', 'organisation', 'place'] as const;
export type CycleScale = (typeof CYCLE_SCALES)[number];

/** How one cycle stands to another. The link `{ from, to, relation }` reads "from <relation> to". */
export const CYCLE_LINK_RELATIONS = [
  'arose-from-pattern-in',
  'convened-by',
  'informs',
  'escalates-to',
] as const;
export type CycleLinkRelation = (typeof CYCLE_LINK_RELATIONS)[number];

/** The same link read from the other end ("to <inverse> from"), for a view that walks the stack downwards. */
export const CYCLE_LINK_INVERSE: Record<CycleLinkRelation, string> = {
  'arose-from-pattern-in': 'gave-rise-to',
  'convened-by': 'convened',
  informs: 'informed-by',
  'escalates-to': 'escalated-from',
};

/** Horizontally (peers at the same scale) or vertically (scales above or below). */
export const DIRECTIONS = ['horizontal', 'vertical'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** The partner that owns the cycle and, for a team's cycle, the team. */
export interface CycleOwner {
  partner: string;
  team?: string;
}

export interface CycleLink {
  from: string;
  to: string;
  relation: CycleLinkRelation;
}

/** Understanding the system that is producing the outcome. */
export interface SystemUnderstanding {
  /** Who makes up the system that creates the outcome (and could help make a different one). */
  actors: string[];
  /** The relationships between those actors: how they can collaborate and learn together. */
  relationships: string[];
  /** The factors that influence the system. */
  factors: string[];
  /** How the actors learn together about those factors, where that is known yet. */
  learningTogether: string | null;
}

/** A co-designed experiment: "what happens if we try this?" */
export interface ExperimentDesign {
  /** The question the experiment is trying to answer. */
  question: string;
  /** The actions to try, to answer the question. */
  actions: string[];
  /** The data to collect: of any kind (numbers, stories, observations, measures a person chose). */
  dataToCollect: string[];
  /** How the data will be made sense of, together. */
  sensemaking: string;
  /** How it is made safe to fail. */
  safeToFail: string;
  /** The countermeasures that protect the experimental space (none may be needed). */
  countermeasures: string[];
}

/** Doing the experiment: what we are learning from it. */
export interface ExperimentFindings {
  patternsSeen: string[];
  learningForThisScale: string;
  /** For other systems, horizontally and vertically. */
  learningForOtherSystems: string[];
}

/** Influencing: how the business as usual of others must change. */
export interface InfluenceNeeded {
  /** Whose business as usual: an organisation, a service, a body, a system. */
  whose: string;
  direction: Direction;
  change: string;
}

/** Managing the cycle: is it operating effectively, and what does it need? */
export interface CycleManagement {
  operatingEffectively: string;
  whatNeedsToChange: string | null;
  timeToAllocate: string;
  resources: string[];
  enablers: string[];
  barriers: string[];
  /** To whom to connect, horizontally and vertically. */
  connectWith: string[];
}

/** Governing the cycle: the integrity of the learning and adaptation. */
export interface CycleGovernance {
  areLessonsBeingLearnt: string;
  howLearningChangesPractice: string;
  howPracticeBecomesInfrastructure: string;
  howLearningAchievesPurpose: string;
  howWeKnow: string;
  evaluationMechanisms: string[];
  /** To whom an account of the learning is given. */
  accountTo: string[];
  whoIsIncluded: string[];
  whoIsExcluded: string[];
  /** Are those boundaries right? */
  areBoundariesRight: string;
}

interface OnCycle {
  cycleId: string;
  at: string;
}

export type LearningCycleCommand =
  | (OnCycle & {
      type: 'ConveneLearningCycle';
      title: string;
      scale: CycleScale;
      owner: CycleOwner;
      /** Who convened it: the worker's or steward's user id (never a person supported). */
      convenedBy: string;
    })
  | (OnCycle & { type: 'SetCyclePurpose'; purpose: string })
  | (OnCycle & SystemUnderstanding & { type: 'RecordSystemUnderstanding' })
  | (OnCycle & ExperimentDesign & { type: 'DesignExperiment'; experimentId: string })
  | (OnCycle & { type: 'StartExperiment'; experimentId: string })
  | (OnCycle & ExperimentFindings & { type: 'RecordExperimentLearning'; experimentId: string })
  | (OnCycle & ExperimentFindings & { type: 'ConcludeExperiment'; experimentId: string })
  | (OnCycle & { type: 'RecordEmbedding'; bauChanges: string[] })
  | (OnCycle & { type: 'RecordInfluencing'; changes: InfluenceNeeded[] })
  | (OnCycle & CycleManagement & { type: 'RecordCycleManagement' })
  | (OnCycle & CycleGovernance & { type: 'RecordCycleGovernance' })
  | (OnCycle & { type: 'LinkCycles'; to: string; relation: CycleLinkRelation })
  | (OnCycle & { type: 'CloseLearningCycle'; why: string });

/** Every event says which cycle, and at which scale the cycle runs. */
interface CycleData {
  cycleId: string;
  cycleScale: CycleScale;
}

export type LearningCycleEvent =
  | DomainEvent<
      'LearningCycleConvened',
      CycleData & { title: string; owner: CycleOwner; convenedBy: string; convenedAt: string }
    >
  /** The purpose; a later one replaces it. */
  | DomainEvent<'CyclePurposeSet', CycleData & { purpose: string; setAt: string }>
  /** Each understanding replaces the last: the system is understood better as the cycle goes round. */
  | DomainEvent<'SystemUnderstandingRecorded', CycleData & SystemUnderstanding & { recordedAt: string }>
  | DomainEvent<
      'ExperimentDesigned',
      CycleData & ExperimentDesign & { experimentId: string; designedAt: string }
    >
  | DomainEvent<'ExperimentStarted', CycleData & { experimentId: string; startedAt: string }>
  /** What is being learnt while the experiment runs. */
  | DomainEvent<
      'ExperimentLearningRecorded',
      CycleData & ExperimentFindings & { experimentId: string; recordedAt: string }
    >
  | DomainEvent<
      'ExperimentConcluded',
      CycleData & ExperimentFindings & { experimentId: string; concludedAt: string }
    >
  | DomainEvent<'EmbeddingRecorded', CycleData & { bauChanges: string[]; recordedAt: string }>
  | DomainEvent<'InfluencingRecorded', CycleData & { changes: InfluenceNeeded[]; recordedAt: string }>
  | DomainEvent<'CycleManagementRecorded', CycleData & CycleManagement & { recordedAt: string }>
  | DomainEvent<'CycleGovernanceRecorded', CycleData & CycleGovernance & { recordedAt: string }>
  | DomainEvent<'CyclesLinked', CycleData & { link: CycleLink; linkedAt: string }>
  | DomainEvent<'LearningCycleClosed', CycleData & { why: string; closedAt: string }>;

export type LearningCycleEventType = LearningCycleEvent['type'];

export type ExperimentStatus = 'designed' | 'running' | 'concluded';

export type LearningCycleState =
  | { status: 'none' }
  | {
      status: 'open' | 'closed';
      cycleId: string;
      scale: CycleScale;
      owner: CycleOwner;
      purpose: string | null;
      experiments: ReadonlyMap<string, ExperimentStatus>;
      /** Links already recorded, as `relation:to`. */
      links: ReadonlySet<string>;
    };

type Cycle = Extract<LearningCycleState, { status: 'open' | 'closed' }>;

/** The scale to record a learning cycle event at: the cycle's own. */
export const scaleOfCycleEvent = (event: LearningCycleEvent): CycleScale => event.data.cycleScale;

/** Every link in these events, from each cycle's side: what it links to, and what links to it. */
export function linksOf(
  events: readonly LearningCycleEvent[],
): ReadonlyMap<string, { outgoing: CycleLink[]; incoming: CycleLink[] }> {
  const out = new Map<string, { outgoing: CycleLink[]; incoming: CycleLink[] }>();
  const seen = new Set<string>();
  const at = (cycleId: string) => {
    const entry = out.get(cycleId) ?? { outgoing: [], incoming: [] };
    out.set(cycleId, entry);
    return entry;
  };
  for (const event of events) {
    if (event.type !== 'CyclesLinked') continue;
    const link = event.data.link;
    const key = JSON.stringify([link.from, link.relation, link.to]);
    if (seen.has(key)) continue; // the same link seen twice (a redelivery)
    seen.add(key);
    at(link.from).outgoing.push(link);
    at(link.to).incoming.push(link);
  }
  return out;
}

// ---- validation: words a worker can act on, and the field at fault ----

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || !value.trim()) return refuse('invalid', `${field} cannot be empty`, field);
  return value.trim();
}

function optionalText(value: unknown, field: string): string | null {
  return value === null || value === undefined ? null : text(value, field);
}

/** A list of answers: each one said, each once; `atLeastOne` where the stage means nothing without one. */
function list(value: unknown, field: string, atLeastOne = false): string[] {
  if (!Array.isArray(value)) return refuse('invalid', `${field} must be a list`, field);
  const items = [...new Set(value.map((item, i) => text(item, `${field}[${i}]`)))];
  if (atLeastOne && items.length === 0) refuse('invalid', `${field} needs at least one entry`, field);
  return items;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (!allowed.includes(value as T))
    refuse('invalid', `${field} must be one of ${allowed.join(', ')}`, field);
  return value as T;
}

function findings(command: ExperimentFindings): ExperimentFindings {
  return {
    patternsSeen: list(command.patternsSeen, 'patternsSeen'),
    learningForThisScale: text(command.learningForThisScale, 'learningForThisScale'),
    learningForOtherSystems: list(command.learningForOtherSystems, 'learningForOtherSystems'),
  };
}

// ---- the rules every stage shares ----

function existing(state: LearningCycleState, cycleId: string): Cycle {
  if (state.status === 'none') refuse('not-found', `there is no learning cycle ${cycleId} here`);
  return state as Cycle;
}

/** The cycle exists and is not closed. */
function open(state: LearningCycleState, cycleId: string): Cycle {
  const cycle = existing(state, cycleId);
  if (cycle.status === 'closed') {
    refuse('conflict', `learning cycle ${cycle.cycleId} is closed: nothing more can be recorded on it`);
  }
  return cycle;
}

/** It starts with purpose: every stage after it waits until the purpose is set. */
function purposeful(state: LearningCycleState, cycleId: string): Cycle {
  const cycle = open(state, cycleId);
  if (cycle.purpose === null) {
    refuse('conflict', 'set the purpose of this learning cycle first: a learning cycle starts with purpose');
  }
  return cycle;
}

function experiment(cycle: Cycle, experimentId: string): ExperimentStatus {
  const status = cycle.experiments.get(experimentId);
  if (!status) {
    return refuse(
      'not-found',
      `there is no experiment ${experimentId} in this learning cycle: design it first`,
      'experimentId',
    );
  }
  return status;
}

const on = (cycle: Cycle): CycleData => ({ cycleId: cycle.cycleId, cycleScale: cycle.scale });

export const learningCycle: Decider<LearningCycleCommand, LearningCycleEvent, LearningCycleState> = {
  scale: 'organisation',
  scaleOf: scaleOfCycleEvent,
  initialState: { status: 'none' },

  decide(command, state) {
    switch (command.type) {
      case 'ConveneLearningCycle': {
        if (state.status !== 'none') refuse('conflict', `learning cycle ${command.cycleId} already exists`);
        const cycleId = text(command.cycleId, 'cycleId');
        const title = text(command.title, 'title');
        const scale = oneOf(command.scale, CYCLE_SCALES, 'scale');
        const partner = text(command.owner?.partner, 'owner.partner');
        const team = optionalText(command.owner.team, 'owner.team');
        if (scale === 'team' && team === null) {
          refuse('invalid', 'a team-scale learning cycle belongs to a team: say which', 'owner.team');
        }
        const convenedBy = text(command.convenedBy, 'convenedBy');
        return [
          {
            type: 'LearningCycleConvened',
            data: {
              cycleId,
              cycleScale: scale,
              title,
              owner: team === null ? { partner } : { partner, team },
              convenedBy,
              convenedAt: command.at,
            },
          },
        ];
      }
      case 'SetCyclePurpose': {
        const cycle = open(state, command.cycleId);
        const purpose = text(command.purpose, 'purpose');
        if (purpose === cycle.purpose) return []; // already the purpose
        return [{ type: 'CyclePurposeSet', data: { ...on(cycle), purpose, setAt: command.at } }];
      }
      case 'RecordSystemUnderstanding': {
        const cycle = purposeful(state, command.cycleId);
        return [
          {
            type: 'SystemUnderstandingRecorded',
            data: {
              ...on(cycle),
              actors: list(command.actors, 'actors', true),
              relationships: list(command.relationships, 'relationships'),
              factors: list(command.factors, 'factors', true),
              learningTogether: optionalText(command.learningTogether, 'learningTogether'),
              recordedAt: command.at,
            },
          },
        ];
      }
      case 'DesignExperiment': {
        const cycle = purposeful(state, command.cycleId);
        const experimentId = text(command.experimentId, 'experimentId');
        if (cycle.experiments.has(experimentId)) {
          refuse('conflict', `experiment ${experimentId} is already in this learning cycle`, 'experimentId');
        }
        return [
          {
            type: 'ExperimentDesigned',
            data: {
              ...on(cycle),
              experimentId,
              question: text(command.question, 'question'),
              actions: list(command.actions, 'actions', true),
              dataToCollect: list(command.dataToCollect, 'dataToCollect', true),
              sensemaking: text(command.sensemaking, 'sensemaking'),
              safeToFail: text(command.safeToFail, 'safeToFail'),
              countermeasures: list(command.countermeasures, 'countermeasures'),
              designedAt: command.at,
            },
          },
        ];
      }
      case 'StartExperiment': {
        const cycle = purposeful(state, command.cycleId);
        const status = experiment(cycle, command.experimentId);
        if (status !== 'designed') {
          refuse('conflict', `experiment ${command.experimentId} is already ${status}`, 'experimentId');
        }
        return [
          {
            type: 'ExperimentStarted',
            data: { ...on(cycle), experimentId: command.experimentId, startedAt: command.at },
          },
        ];
      }
      case 'RecordExperimentLearning':
      case 'ConcludeExperiment': {
        const cycle = purposeful(state, command.cycleId);
        const status = experiment(cycle, command.experimentId);
        if (status === 'designed') {
          refuse(
            'conflict',
            `experiment ${command.experimentId} has not started: start it first`,
            'experimentId',
          );
        }
        if (status === 'concluded') {
          refuse('conflict', `experiment ${command.experimentId} is already concluded`, 'experimentId');
        }
        const data = { ...on(cycle), experimentId: command.experimentId, ...findings(command) };
        return command.type === 'ConcludeExperiment'
          ? [{ type: 'ExperimentConcluded', data: { ...data, concludedAt: command.at } }]
          : [{ type: 'ExperimentLearningRecorded', data: { ...data, recordedAt: command.at } }];
      }
      case 'RecordEmbedding': {
        const cycle = purposeful(state, command.cycleId);
        return [
          {
            type: 'EmbeddingRecorded',
            data: {
              ...on(cycle),
              bauChanges: list(command.bauChanges, 'bauChanges', true),
              recordedAt: command.at,
            },
          },
        ];
      }
      case 'RecordInfluencing': {
        const cycle = purposeful(state, command.cycleId);
        if (!Array.isArray(command.changes) || command.changes.length === 0) {
          refuse('invalid', 'changes needs at least one entry', 'changes');
        }
        const changes = command.changes.map((c, i) => ({
          whose: text(c?.whose, `changes[${i}].whose`),
          direction: oneOf(c.direction, DIRECTIONS, `changes[${i}].direction`),
          change: text(c.change, `changes[${i}].change`),
        }));
        return [{ type: 'InfluencingRecorded', data: { ...on(cycle), changes, recordedAt: command.at } }];
      }
      case 'RecordCycleManagement': {
        const cycle = purposeful(state, command.cycleId);
        return [
          {
            type: 'CycleManagementRecorded',
            data: {
              ...on(cycle),
              operatingEffectively: text(command.operatingEffectively, 'operatingEffectively'),
              whatNeedsToChange: optionalText(command.whatNeedsToChange, 'whatNeedsToChange'),
              timeToAllocate: text(command.timeToAllocate, 'timeToAllocate'),
              resources: list(command.resources, 'resources'),
              enablers: list(command.enablers, 'enablers'),
              barriers: list(command.barriers, 'barriers'),
              connectWith: list(command.connectWith, 'connectWith'),
              recordedAt: command.at,
            },
          },
        ];
      }
      case 'RecordCycleGovernance': {
        const cycle = purposeful(state, command.cycleId);
        return [
          {
            type: 'CycleGovernanceRecorded',
            data: {
              ...on(cycle),
              areLessonsBeingLearnt: text(command.areLessonsBeingLearnt, 'areLessonsBeingLearnt'),
              howLearningChangesPractice: text(
                command.howLearningChangesPractice,
                'howLearningChangesPractice',
              ),
              howPracticeBecomesInfrastructure: text(
                command.howPracticeBecomesInfrastructure,
                'howPracticeBecomesInfrastructure',
              ),
              howLearningAchievesPurpose: text(
                command.howLearningAchievesPurpose,
                'howLearningAchievesPurpose',
              ),
              howWeKnow: text(command.howWeKnow, 'howWeKnow'),
              evaluationMechanisms: list(command.evaluationMechanisms, 'evaluationMechanisms'),
              accountTo: list(command.accountTo, 'accountTo'),
              whoIsIncluded: list(command.whoIsIncluded, 'whoIsIncluded'),
              whoIsExcluded: list(command.whoIsExcluded, 'whoIsExcluded'),
              areBoundariesRight: text(command.areBoundariesRight, 'areBoundariesRight'),
              recordedAt: command.at,
            },
          },
        ];
      }
      case 'LinkCycles': {
        // Not a stage: a cycle may be linked into the stack (e.g. to the cycle it arose from) before its purpose.
        const cycle = open(state, command.cycleId);
        const to = text(command.to, 'to');
        const relation = oneOf(command.relation, CYCLE_LINK_RELATIONS, 'relation');
        if (to === cycle.cycleId) refuse('invalid', 'a learning cycle cannot be linked to itself', 'to');
        if (cycle.links.has(`${relation}:${to}`)) return []; // already linked so
        return [
          {
            type: 'CyclesLinked',
            data: { ...on(cycle), link: { from: cycle.cycleId, to, relation }, linkedAt: command.at },
          },
        ];
      }
      case 'CloseLearningCycle': {
        const cycle = open(state, command.cycleId);
        const running = [...cycle.experiments].filter(([, s]) => s === 'running').map(([id]) => id);
        if (running.length) {
          refuse(
            'conflict',
            `conclude the running experiment${running.length > 1 ? 's' : ''} ${running.join(', ')} before closing this learning cycle`,
          );
        }
        const why = text(command.why, 'why');
        return [{ type: 'LearningCycleClosed', data: { ...on(cycle), why, closedAt: command.at } }];
      }
      default:
        return unreachable(command);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'LearningCycleConvened':
        return {
          status: 'open',
          cycleId: event.data.cycleId,
          scale: event.data.cycleScale,
          owner: event.data.owner,
          purpose: null,
          experiments: new Map(),
          links: new Set(),
        };
      case 'CyclePurposeSet':
        return state.status === 'none' ? state : { ...state, purpose: event.data.purpose };
      case 'ExperimentDesigned':
      case 'ExperimentStarted':
      case 'ExperimentConcluded': {
        if (state.status === 'none') return state;
        const status: ExperimentStatus =
          event.type === 'ExperimentDesigned'
            ? 'designed'
            : event.type === 'ExperimentStarted'
              ? 'running'
              : 'concluded';
        return { ...state, experiments: new Map(state.experiments).set(event.data.experimentId, status) };
      }
      case 'CyclesLinked':
        if (state.status === 'none') return state;
        return {
          ...state,
          links: new Set([...state.links, `${event.data.link.relation}:${event.data.link.to}`]),
        };
      case 'LearningCycleClosed':
        return state.status === 'none' ? state : { ...state, status: 'closed' };
      case 'SystemUnderstandingRecorded':
      case 'ExperimentLearningRecorded':
      case 'EmbeddingRecorded':
      case 'InfluencingRecorded':
      case 'CycleManagementRecorded':
      case 'CycleGovernanceRecorded':
        return state; // answers: history for the views, nothing the rules turn on
      default:
        return unreachable(event);
    }
  },
};
