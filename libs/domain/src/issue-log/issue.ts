import { Decider, DomainEvent } from '../shared/aggregate';
import { refuse, unreachable } from '../shared/domain-error';

/**
 * One row of the issue log, as in the seed's table: the issue; its level (1 individual, 2 system, 3 macro);
 * open or closed; its owner (the team, leadership, government); and the action required: the countermeasure
 * now, and the system change for the new normal. Stream: `issue-<id>`, in the store of the partner that raised
 * it. Every change is an event, so the events are the issue's history (who escalated it, why, what changed).
 *
 * Not sealed: the log is read by stewards and, for what is escalated to government, by statutory bodies. An
 * issue describes a pattern in the system; it never names a person or carries a person's consortium reference,
 * in its description, its source or its evidence. A person's story stays on their journey.
 */
export const issueStream = (issueId: string) => `issue-${issueId}`;

/** 1 individual, 2 system, 3 macro: the seed's numbering, and the order escalation goes up. */
export const ISSUE_LEVELS = [1, 2, 3] as const;
export type IssueLevel = (typeof ISSUE_LEVELS)[number];
export const ISSUE_LEVEL_NAMES: Record<IssueLevel, string> = { 1: 'individual', 2: 'system', 3: 'macro' };

/** Who owns the action, in the order escalation goes up. */
export const ISSUE_OWNERS = ['team', 'leadership', 'government'] as const;
export type IssueOwner = (typeof ISSUE_OWNERS)[number];

export type IssueStatus = 'open' | 'closed';

/** Where the issue was learnt. `ref` is the id of that thing (for an experiment: `<cycle id>/<experiment id>`). */
export const ISSUE_SOURCE_KINDS = [
  'learning-cycle',
  'experiment',
  'reflective-session',
  'journey-pattern',
  'other',
] as const;
export type IssueSourceKind = (typeof ISSUE_SOURCE_KINDS)[number];

export interface IssueSource {
  kind: IssueSourceKind;
  ref: string;
}

/** Evidence for an issue: a learning cycle, an experiment, a session, a pattern, an evidence pack, a document. */
export interface EvidenceLink {
  kind: string;
  ref: string;
  note: string | null;
}

export type IssueCommand =
  | {
      type: 'RaiseIssue';
      issueId: string;
      description: string;
      level: IssueLevel;
      owner: IssueOwner;
      raisedFrom: IssueSource;
      evidence: EvidenceLink[];
      at: string;
    }
  | { type: 'SetCountermeasure'; issueId: string; countermeasure: string; at: string }
  | { type: 'SetSystemChange'; issueId: string; systemChange: string; at: string }
  /** Up in level, or in owner, or both; never down in either. */
  | {
      type: 'EscalateIssue';
      issueId: string;
      level?: IssueLevel;
      owner?: IssueOwner;
      reason: string;
      at: string;
    }
  | { type: 'LinkEvidence'; issueId: string; link: EvidenceLink; at: string }
  /** What the consortium asks of one statutory body about an issue at level 3 or owned by government. */
  | { type: 'AskStatutoryBody'; issueId: string; askId: string; body: string; ask: string; at: string }
  /** What the body did about an ask, as the steward learnt it; a later answer replaces an earlier one. */
  | {
      type: 'RecordAskOutcome';
      issueId: string;
      askId: string;
      outcome: AskOutcome;
      response: string;
      at: string;
    }
  | { type: 'CloseIssue'; issueId: string; whatChanged: string; at: string }
  | { type: 'ReopenIssue'; issueId: string; reason: string; at: string };

/** What became of an ask of a statutory body. */
export const ASK_OUTCOMES = ['agreed', 'partly-agreed', 'declined', 'no-response', 'done'] as const;
export type AskOutcome = (typeof ASK_OUTCOMES)[number];

export type IssueEvent =
  | DomainEvent<
      'IssueRaised',
      {
        issueId: string;
        description: string;
        level: IssueLevel;
        owner: IssueOwner;
        raisedFrom: IssueSource;
        evidence: EvidenceLink[];
        raisedAt: string;
      }
    >
  /** The countermeasure now; a later one replaces it. */
  | DomainEvent<'IssueCountermeasureSet', { issueId: string; countermeasure: string; setAt: string }>
  /** The system change for the new normal; a later one replaces it. */
  | DomainEvent<'IssueSystemChangeSet', { issueId: string; systemChange: string; setAt: string }>
  | DomainEvent<
      'IssueEscalated',
      {
        issueId: string;
        fromLevel: IssueLevel;
        toLevel: IssueLevel;
        fromOwner: IssueOwner;
        toOwner: IssueOwner;
        reason: string;
        escalatedAt: string;
      }
    >
  | DomainEvent<'IssueEvidenceLinked', { issueId: string; link: EvidenceLink; linkedAt: string }>
  | DomainEvent<
      'IssueAskMade',
      { issueId: string; askId: string; body: string; ask: string; askedAt: string }
    >
  | DomainEvent<
      'IssueAskAnswered',
      {
        issueId: string;
        askId: string;
        body: string;
        outcome: AskOutcome;
        response: string;
        answeredAt: string;
      }
    >
  | DomainEvent<'IssueClosed', { issueId: string; whatChanged: string; closedAt: string }>
  | DomainEvent<'IssueReopened', { issueId: string; reason: string; reopenedAt: string }>;

export type IssueEventType = IssueEvent['type'];

export type IssueState =
  | { status: 'none' }
  | {
      status: IssueStatus;
      issueId: string;
      level: IssueLevel;
      owner: IssueOwner;
      /** Evidence already linked, as `kind:ref`. */
      evidence: ReadonlySet<string>;
      /** Asks made of statutory bodies: ask id to body. */
      asks: ReadonlyMap<string, string>;
    };

type Issue = Extract<IssueState, { status: IssueStatus }>;

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || !value.trim()) return refuse('invalid', `${field} cannot be empty`, field);
  return value.trim();
}

function oneOf<T extends string | number>(value: unknown, allowed: readonly T[], field: string): T {
  if (!allowed.includes(value as T))
    refuse('invalid', `${field} must be one of ${allowed.join(', ')}`, field);
  return value as T;
}

function evidenceLink(value: EvidenceLink | undefined, field: string): EvidenceLink {
  if (typeof value !== 'object' || value === null) return refuse('invalid', `${field} must be a link`, field);
  return {
    kind: text(value.kind, `${field}.kind`),
    ref: text(value.ref, `${field}.ref`),
    note: value.note === null || value.note === undefined ? null : text(value.note, `${field}.note`),
  };
}

const evidenceKey = (link: EvidenceLink) => `${link.kind}:${link.ref}`;

function existing(state: IssueState, issueId: string): Issue {
  if (state.status === 'none') refuse('not-found', `there is no issue ${issueId} in the issue log`);
  return state as Issue;
}

/** The issue exists and is open: a closed issue can only be reopened. */
function open(state: IssueState, issueId: string): Issue {
  const issue = existing(state, issueId);
  if (issue.status === 'closed') {
    refuse('conflict', `issue ${issue.issueId} is closed: reopen it, saying why, to change it`);
  }
  return issue;
}

export const issue: Decider<IssueCommand, IssueEvent, IssueState> = {
  scale: 'organisation',
  initialState: { status: 'none' },

  decide(command, state) {
    switch (command.type) {
      case 'RaiseIssue': {
        if (state.status !== 'none')
          refuse('conflict', `issue ${command.issueId} is already in the issue log`);
        const issueId = text(command.issueId, 'issueId');
        const description = text(command.description, 'description');
        const level = oneOf(command.level, ISSUE_LEVELS, 'level');
        const owner = oneOf(command.owner, ISSUE_OWNERS, 'owner');
        if (typeof command.raisedFrom !== 'object' || command.raisedFrom === null) {
          refuse('invalid', 'say what learning the issue was raised from', 'raisedFrom');
        }
        const raisedFrom: IssueSource = {
          kind: oneOf(command.raisedFrom.kind, ISSUE_SOURCE_KINDS, 'raisedFrom.kind'),
          ref: text(command.raisedFrom.ref, 'raisedFrom.ref'),
        };
        if (!Array.isArray(command.evidence)) refuse('invalid', 'evidence must be a list', 'evidence');
        const evidence = new Map<string, EvidenceLink>();
        command.evidence.forEach((value, i) => {
          const link = evidenceLink(value, `evidence[${i}]`);
          if (!evidence.has(evidenceKey(link))) evidence.set(evidenceKey(link), link);
        });
        return [
          {
            type: 'IssueRaised',
            data: {
              issueId,
              description,
              level,
              owner,
              raisedFrom,
              evidence: [...evidence.values()],
              raisedAt: command.at,
            },
          },
        ];
      }
      case 'SetCountermeasure': {
        const { issueId } = open(state, command.issueId);
        const countermeasure = text(command.countermeasure, 'countermeasure');
        return [{ type: 'IssueCountermeasureSet', data: { issueId, countermeasure, setAt: command.at } }];
      }
      case 'SetSystemChange': {
        const { issueId } = open(state, command.issueId);
        const systemChange = text(command.systemChange, 'systemChange');
        return [{ type: 'IssueSystemChangeSet', data: { issueId, systemChange, setAt: command.at } }];
      }
      case 'EscalateIssue': {
        const current = open(state, command.issueId);
        if (command.level === undefined && command.owner === undefined) {
          refuse('invalid', 'say the level or the owner the issue is escalated to', 'level');
        }
        const toLevel =
          command.level === undefined ? current.level : oneOf(command.level, ISSUE_LEVELS, 'level');
        const toOwner =
          command.owner === undefined ? current.owner : oneOf(command.owner, ISSUE_OWNERS, 'owner');
        if (toLevel < current.level) {
          refuse('invalid', `escalation goes up: this issue is already at level ${current.level}`, 'level');
        }
        const [from, to] = [ISSUE_OWNERS.indexOf(current.owner), ISSUE_OWNERS.indexOf(toOwner)];
        if (to < from) {
          refuse('invalid', `escalation goes up: this issue is already owned by ${current.owner}`, 'owner');
        }
        if (toLevel === current.level && to === from) {
          refuse(
            'invalid',
            `escalation goes up: the issue is already at level ${current.level}, owned by ${current.owner}`,
            command.level === undefined ? 'owner' : 'level',
          );
        }
        const reason = text(command.reason, 'reason');
        return [
          {
            type: 'IssueEscalated',
            data: {
              issueId: current.issueId,
              fromLevel: current.level,
              toLevel,
              fromOwner: current.owner,
              toOwner,
              reason,
              escalatedAt: command.at,
            },
          },
        ];
      }
      case 'LinkEvidence': {
        const current = open(state, command.issueId);
        const link = evidenceLink(command.link, 'link');
        if (current.evidence.has(evidenceKey(link))) return []; // already linked
        return [
          { type: 'IssueEvidenceLinked', data: { issueId: current.issueId, link, linkedAt: command.at } },
        ];
      }
      case 'AskStatutoryBody': {
        const current = open(state, command.issueId);
        if (current.level < 3 && current.owner !== 'government') {
          refuse(
            'conflict',
            `issue ${current.issueId} is at level ${current.level}, owned by ${current.owner}: escalate it to level 3 or to government before asking a statutory body`,
          );
        }
        const askId = text(command.askId, 'askId');
        if (current.asks.has(askId)) refuse('conflict', `ask ${askId} is already made`);
        const data = {
          issueId: current.issueId,
          askId,
          body: text(command.body, 'body'),
          ask: text(command.ask, 'ask'),
          askedAt: command.at,
        };
        return [{ type: 'IssueAskMade', data }];
      }
      case 'RecordAskOutcome': {
        const current = existing(state, command.issueId);
        const body = current.asks.get(command.askId);
        if (body === undefined) {
          return refuse('not-found', `issue ${current.issueId} has no ask ${command.askId}`, 'askId');
        }
        const data = {
          issueId: current.issueId,
          askId: command.askId,
          body,
          outcome: oneOf(command.outcome, ASK_OUTCOMES, 'outcome'),
          response: text(command.response, 'response'),
          answeredAt: command.at,
        };
        return [{ type: 'IssueAskAnswered', data }];
      }
      case 'CloseIssue': {
        const { issueId } = open(state, command.issueId);
        const whatChanged = text(command.whatChanged, 'whatChanged');
        return [{ type: 'IssueClosed', data: { issueId, whatChanged, closedAt: command.at } }];
      }
      case 'ReopenIssue': {
        const current = existing(state, command.issueId);
        if (current.status === 'open') refuse('conflict', `issue ${current.issueId} is open already`);
        const reason = text(command.reason, 'reason');
        return [
          { type: 'IssueReopened', data: { issueId: current.issueId, reason, reopenedAt: command.at } },
        ];
      }
      default:
        return unreachable(command);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'IssueRaised':
        return {
          status: 'open',
          issueId: event.data.issueId,
          level: event.data.level,
          owner: event.data.owner,
          evidence: new Set(event.data.evidence.map(evidenceKey)),
          asks: new Map(),
        };
      case 'IssueEscalated':
        return state.status === 'none'
          ? state
          : { ...state, level: event.data.toLevel, owner: event.data.toOwner };
      case 'IssueEvidenceLinked':
        return state.status === 'none'
          ? state
          : { ...state, evidence: new Set([...state.evidence, evidenceKey(event.data.link)]) };
      case 'IssueClosed':
        return state.status === 'none' ? state : { ...state, status: 'closed' };
      case 'IssueReopened':
        return state.status === 'none' ? state : { ...state, status: 'open' };
      case 'IssueAskMade':
        return state.status === 'none'
          ? state
          : { ...state, asks: new Map([...state.asks, [event.data.askId, event.data.body]]) };
      case 'IssueCountermeasureSet':
      case 'IssueSystemChangeSet':
      case 'IssueAskAnswered':
        return state; // the row's answers: history for the views, nothing the rules turn on
      default:
        return unreachable(event);
    }
  },
};
