import { Sealed } from '@app/privacy';
import { Decider, DomainEvent } from '../shared/aggregate';
import { refuse, unreachable } from '../shared/domain-error';

/**
 * A closed-loop referral, held by the referring partner and by the receiving one, each in its own store
 * (nobody writes to another partner's records); each side takes in the other's changes from the backbone.
 * Stream: `referral-<id>` in each store. States as in the FHIR SDOH referral workflow (Gravity Project).
 */
export const referralStream = (referralId: string) => `referral-${referralId}`;

export const REFERRAL_STATUSES = [
  'requested',
  'accepted',
  'rejected',
  'in-progress',
  'on-hold',
  'completed',
  'cancelled',
  'failed',
  'entered-in-error',
] as const;
export type ReferralStatus = (typeof REFERRAL_STATUSES)[number];
export type ReferralSide = 'referrer' | 'recipient';

/** Who may move a referral from each status, and to which. One table: the code and docs/access.md follow it. */
export const REFERRAL_MOVES: Record<ReferralSide, Record<ReferralStatus, readonly ReferralStatus[]>> = {
  recipient: {
    requested: ['accepted', 'rejected'],
    accepted: ['in-progress', 'on-hold', 'completed', 'failed'],
    'in-progress': ['on-hold', 'completed', 'failed'],
    'on-hold': ['in-progress', 'completed', 'failed'],
    rejected: [],
    completed: [],
    cancelled: [],
    failed: [],
    'entered-in-error': [],
  },
  referrer: {
    requested: ['cancelled', 'entered-in-error'],
    accepted: ['cancelled', 'entered-in-error'],
    'in-progress': ['cancelled', 'entered-in-error'],
    'on-hold': ['cancelled', 'entered-in-error'],
    rejected: ['entered-in-error'],
    completed: ['entered-in-error'],
    cancelled: ['entered-in-error'],
    failed: ['entered-in-error'],
    'entered-in-error': [],
  },
};

/** The moves that must say why: the other side, and the person, are owed a reason. */
export const REASON_REQUIRED: readonly ReferralStatus[] = [
  'rejected',
  'on-hold',
  'cancelled',
  'failed',
  'entered-in-error',
];

/** The facts both sides hold about a referral. */
export interface ReferralFacts {
  referralId: string;
  personRef: string;
  fromPartner: string;
  toOrganisation: string;
}

export type ReferralCommand =
  | (ReferralFacts & { type: 'RequestReferral'; reason: Sealed; at: string })
  /** The receiving partner's service takes in a referral it saw on the backbone. */
  | (ReferralFacts & { type: 'ReceiveReferral'; requestedAt: string; at: string })
  | {
      type: 'ChangeReferralStatus';
      referralId: string;
      partner: string;
      status: ReferralStatus;
      reason: Sealed | null;
      at: string;
    }
  /** A side takes in a change the other side recorded. */
  | {
      type: 'ReceiveReferralUpdate';
      referralId: string;
      status: ReferralStatus;
      changedBy: string;
      changedAt: string;
      at: string;
    };

export type ReferralEvent =
  | DomainEvent<'ReferralRequested', ReferralFacts & { reason: Sealed; requestedAt: string }>
  | DomainEvent<'ReferralReceived', ReferralFacts & { requestedAt: string; receivedAt: string }>
  | DomainEvent<
      'ReferralStatusChanged',
      ReferralFacts & { status: ReferralStatus; side: ReferralSide; reason: Sealed | null; changedAt: string }
    >
  | DomainEvent<
      'ReferralUpdateReceived',
      { referralId: string; status: ReferralStatus; changedBy: string; changedAt: string; receivedAt: string }
    >;

export type ReferralState =
  | { status: 'none' }
  | (ReferralFacts & { status: ReferralStatus; side: ReferralSide; seenChanges: ReadonlySet<string> });

export const referral: Decider<ReferralCommand, ReferralEvent, ReferralState> = {
  scale: 'person',
  initialState: { status: 'none' },

  decide(command, state) {
    switch (command.type) {
      case 'RequestReferral': {
        if (state.status !== 'none') refuse('conflict', `referral ${command.referralId} already exists`);
        if (command.toOrganisation === command.fromPartner) {
          refuse('invalid', 'a partner cannot refer a person to itself', 'toOrganisation');
        }
        const { type: _, at, ...requested } = command;
        return [{ type: 'ReferralRequested', data: { ...requested, requestedAt: at } }];
      }
      case 'ReceiveReferral': {
        if (state.status !== 'none') return []; // a redelivery: already in the inbox
        const { type: _, at, ...received } = command;
        return [{ type: 'ReferralReceived', data: { ...received, receivedAt: at } }];
      }
      case 'ChangeReferralStatus': {
        if (state.status === 'none') {
          return refuse(
            'not-found',
            `referral ${command.referralId} is not among your organisation's referrals`,
          );
        }
        const side: ReferralSide = state.side;
        const ours = side === 'recipient' ? state.toOrganisation : state.fromPartner;
        if (ours !== command.partner)
          refuse('not-found', `referral ${command.referralId} is not your organisation's`);
        if (!REFERRAL_MOVES[side][state.status].includes(command.status)) {
          const allowed = REFERRAL_MOVES[side][state.status];
          refuse(
            'conflict',
            `this referral is ${state.status}; ${side === 'recipient' ? 'the receiving' : 'the referring'} partner can ` +
              (allowed.length ? `move it to ${allowed.join(', ')}` : 'no longer change it'),
            'status',
          );
        }
        if (REASON_REQUIRED.includes(command.status) && !command.reason) {
          refuse('invalid', `say why the referral is ${command.status}`, 'reason');
        }
        const { referralId, personRef, fromPartner, toOrganisation } = state;
        return [
          {
            type: 'ReferralStatusChanged',
            data: {
              referralId,
              personRef,
              fromPartner,
              toOrganisation,
              status: command.status,
              side,
              reason: command.reason,
              changedAt: command.at,
            },
          },
        ];
      }
      case 'ReceiveReferralUpdate': {
        if (state.status === 'none')
          return refuse('not-found', `referral ${command.referralId} is not held here`);
        const key = `${command.changedBy}@${command.changedAt}:${command.status}`;
        if (state.seenChanges.has(key)) return []; // a redelivery
        const { type: _, at, ...update } = command;
        return [{ type: 'ReferralUpdateReceived', data: { ...update, receivedAt: at } }];
      }
      default:
        return unreachable(command);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'ReferralRequested':
      case 'ReferralReceived': {
        const { referralId, personRef, fromPartner, toOrganisation } = event.data;
        const side = event.type === 'ReferralRequested' ? 'referrer' : 'recipient';
        return {
          status: 'requested',
          side,
          referralId,
          personRef,
          fromPartner,
          toOrganisation,
          seenChanges: new Set(),
        };
      }
      case 'ReferralStatusChanged':
        return state.status === 'none' ? state : { ...state, status: event.data.status };
      case 'ReferralUpdateReceived': {
        if (state.status === 'none') return state;
        const key = `${event.data.changedBy}@${event.data.changedAt}:${event.data.status}`;
        return { ...state, status: event.data.status, seenChanges: new Set([...state.seenChanges, key]) };
      }
      default:
        return unreachable(event);
    }
  },
};
