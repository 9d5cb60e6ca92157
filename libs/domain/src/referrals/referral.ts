import { Sealed } from '@app/privacy';
import { Decider, DomainEvent } from '../shared/aggregate';
import { refuse, unreachable } from '../shared/domain-error';

/**
 * A closed-loop referral, as the referring partner and the receiving one each hold it in their own store
 * (nobody writes to another partner's records). Stream: `referral-<id>` in each store.
 */
export const referralStream = (referralId: string) => `referral-${referralId}`;

export type ReferralCommand =
  | {
      type: 'RequestReferral';
      referralId: string;
      personRef: string;
      fromPartner: string;
      toOrganisation: string;
      reason: Sealed;
      at: string;
    }
  /** The receiving partner's service takes in a referral it saw on the backbone. */
  | {
      type: 'ReceiveReferral';
      referralId: string;
      personRef: string;
      fromPartner: string;
      toOrganisation: string;
      requestedAt: string;
      at: string;
    }
  | { type: 'AcceptReferral'; referralId: string; partner: string; at: string };

export type ReferralEvent =
  | DomainEvent<
      'ReferralRequested',
      {
        referralId: string;
        personRef: string;
        fromPartner: string;
        toOrganisation: string;
        reason: Sealed;
        requestedAt: string;
      }
    >
  | DomainEvent<
      'ReferralReceived',
      {
        referralId: string;
        personRef: string;
        fromPartner: string;
        toOrganisation: string;
        requestedAt: string;
        receivedAt: string;
      }
    >
  | DomainEvent<'ReferralAccepted', { referralId: string; personRef: string; acceptedAt: string }>;

export type ReferralStatus = 'requested' | 'accepted';

export type ReferralState =
  | { status: 'none' }
  | {
      status: ReferralStatus;
      side: 'referrer' | 'recipient';
      referralId: string;
      personRef: string;
      toOrganisation: string;
      fromPartner: string;
    };

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
      case 'AcceptReferral': {
        if (
          state.status === 'none' ||
          state.side !== 'recipient' ||
          state.toOrganisation !== command.partner
        ) {
          return refuse('not-found', `referral ${command.referralId} is not in your organisation's inbox`);
        }
        if (state.status !== 'requested') refuse('conflict', `this referral is already ${state.status}`);
        return [
          {
            type: 'ReferralAccepted',
            data: { referralId: state.referralId, personRef: state.personRef, acceptedAt: command.at },
          },
        ];
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
        return { status: 'requested', side, referralId, personRef, fromPartner, toOrganisation };
      }
      case 'ReferralAccepted':
        return state.status === 'none' ? state : { ...state, status: 'accepted' };
      default:
        return unreachable(event);
    }
  },
};
