import { Decider, DomainEvent } from '../shared/aggregate';
import { refuse, unreachable } from '../shared/domain-error';

/**
 * A team's reflective practice: the shared space where workers look at their practice together ("what
 * happened, what is working, what is working less well, what should change"). Team scale. Stream:
 * `team-reflection-<team id>`, one per team, in the store of the team's partner.
 *
 * Not sealed: a session is about the team's practice and the system around it. Who came is a count, never a
 * list of names, and a person the team supports is never named here: what is personal stays on that person's
 * journey. What a session surfaces can become a learning cycle or an issue (`raisedFrom` a reflective session).
 */
export const teamReflectionStream = (teamId: string) => `team-reflection-${teamId}`;

/** The four questions of a reflective session. */
export interface ReflectiveAnswers {
  whatHappened: string;
  whatIsWorking: string;
  whatIsWorkingLessWell: string;
  whatShouldChange: string;
}

export type TeamReflectionCommand = ReflectiveAnswers & {
  type: 'RecordReflectiveSession';
  sessionId: string;
  team: string;
  /** When the session was held: not after `at`, when it is recorded. */
  heldAt: string;
  attendeeCount: number;
  at: string;
};

export type TeamReflectionEvent = DomainEvent<
  'ReflectiveSessionHeld',
  ReflectiveAnswers & {
    sessionId: string;
    team: string;
    heldAt: string;
    attendeeCount: number;
    recordedAt: string;
  }
>;

export type TeamReflectionState = { team: string | null; sessionIds: ReadonlySet<string> };

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || !value.trim()) return refuse('invalid', `${field} cannot be empty`, field);
  return value.trim();
}

export const teamReflection: Decider<TeamReflectionCommand, TeamReflectionEvent, TeamReflectionState> = {
  scale: 'team',
  initialState: { team: null, sessionIds: new Set() },

  decide(command, state) {
    switch (command.type) {
      case 'RecordReflectiveSession': {
        const sessionId = text(command.sessionId, 'sessionId');
        const team = text(command.team, 'team');
        if (state.team !== null && state.team !== team) {
          refuse('invalid', `these are the reflective sessions of team ${state.team}, not ${team}`, 'team');
        }
        if (state.sessionIds.has(sessionId)) {
          refuse('conflict', `reflective session ${sessionId} is already recorded`, 'sessionId');
        }
        const held = Date.parse(command.heldAt);
        if (Number.isNaN(held)) refuse('invalid', 'heldAt must be a date and time', 'heldAt');
        if (held > Date.parse(command.at)) {
          refuse('invalid', 'a session cannot be recorded before it has been held', 'heldAt');
        }
        if (!Number.isInteger(command.attendeeCount) || command.attendeeCount < 1) {
          refuse('invalid', 'attendeeCount must be a whole number, one or more', 'attendeeCount');
        }
        return [
          {
            type: 'ReflectiveSessionHeld',
            data: {
              sessionId,
              team,
              heldAt: command.heldAt,
              whatHappened: text(command.whatHappened, 'whatHappened'),
              whatIsWorking: text(command.whatIsWorking, 'whatIsWorking'),
              whatIsWorkingLessWell: text(command.whatIsWorkingLessWell, 'whatIsWorkingLessWell'),
              whatShouldChange: text(command.whatShouldChange, 'whatShouldChange'),
              attendeeCount: command.attendeeCount,
              recordedAt: command.at,
            },
          },
        ];
      }
      default:
        return unreachable(command.type);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'ReflectiveSessionHeld':
        return {
          team: event.data.team,
          sessionIds: new Set([...state.sessionIds, event.data.sessionId]),
        };
      default:
        return unreachable(event.type);
    }
  },
};
