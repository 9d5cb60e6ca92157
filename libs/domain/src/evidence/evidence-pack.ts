import { Decider, DomainEvent } from '../shared/aggregate';
import { refuse, unreachable } from '../shared/domain-error';

/**
 * An evidence pack for one statutory body and one period: composed by a steward, approved by the other
 * partners' stewards as the consortium's rule says (the CEOs act together as system stewards), then published,
 * signed, to the body's feed. Stream: `evidence-pack-<id>`, in the consortium's own store (ADR 0007).
 *
 * What the pack holds is computed when it is composed, with disclosure control already applied, and never
 * changes: a pack that needs other figures is declined and a new one composed. So approval is of exactly what
 * will be published, and the signature covers what was approved.
 */
export const evidencePackStream = (packId: string) => `evidence-pack-${packId}`;

export interface PackPeriod {
  from: string;
  to: string;
}

export interface Steward {
  partner: string;
  user: string;
}

export type EvidencePackCommand<Contents = unknown> =
  | {
      type: 'ComposeEvidencePack';
      packId: string;
      body: string;
      period: PackPeriod;
      composedBy: Steward;
      /** How many partners must approve, the composer's own included: from the consortium file. */
      approvalsNeeded: number;
      contents: Contents;
      at: string;
    }
  | { type: 'ApproveEvidencePack'; packId: string; by: Steward; at: string }
  | { type: 'DeclineEvidencePack'; packId: string; by: Steward; reason: string; at: string }
  | {
      type: 'PublishEvidencePack';
      packId: string;
      by: Steward;
      /** SHA-256 of the pack's document (contents and approvals) and its Ed25519 signature. */
      digest: string;
      signature: string;
      keyId: string;
      at: string;
    };

export type EvidencePackEvent<Contents = unknown> =
  | DomainEvent<
      'EvidencePackComposed',
      {
        packId: string;
        body: string;
        period: PackPeriod;
        composedBy: Steward;
        approvalsNeeded: number;
        contents: Contents;
        composedAt: string;
      }
    >
  | DomainEvent<'EvidencePackApproved', { packId: string; by: Steward; approvedAt: string }>
  | DomainEvent<'EvidencePackDeclined', { packId: string; by: Steward; reason: string; declinedAt: string }>
  | DomainEvent<
      'EvidencePackPublished',
      {
        packId: string;
        body: string;
        by: Steward;
        digest: string;
        signature: string;
        keyId: string;
        publishedAt: string;
      }
    >;

export type EvidencePackStatus = 'composed' | 'declined' | 'published';

export type EvidencePackState =
  | { status: 'none' }
  | {
      status: EvidencePackStatus;
      packId: string;
      body: string;
      approvalsNeeded: number;
      /** Partners whose stewards approved, in order: the composer's first. */
      approvedBy: readonly string[];
    };

type Pack = Extract<EvidencePackState, { packId: string }>;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function pending(state: EvidencePackState, packId: string): Pack {
  if (state.status === 'none') return refuse('not-found', `there is no evidence pack ${packId}`);
  if (state.status !== 'composed') {
    refuse('conflict', `evidence pack ${packId} is ${state.status}: it cannot change any more`);
  }
  return state;
}

function reason(value: unknown): string {
  if (typeof value !== 'string' || !value.trim()) return refuse('invalid', 'say why', 'reason');
  return value.trim();
}

export const evidencePack: Decider<EvidencePackCommand, EvidencePackEvent, EvidencePackState> = {
  scale: 'place',
  initialState: { status: 'none' },

  decide(command, state) {
    switch (command.type) {
      case 'ComposeEvidencePack': {
        if (state.status !== 'none') refuse('conflict', `evidence pack ${command.packId} already exists`);
        const { from, to } = command.period;
        if (!DATE.test(from) || !DATE.test(to)) refuse('invalid', 'the period is two dates', 'period');
        if (to < from) refuse('invalid', 'the period ends before it starts', 'period.to');
        if (to > command.at.slice(0, 10))
          refuse('invalid', 'the period cannot end in the future', 'period.to');
        if (!Number.isInteger(command.approvalsNeeded) || command.approvalsNeeded < 1) {
          refuse('invalid', 'a pack needs at least one approval', 'approvalsNeeded');
        }
        const { contents, ...rest } = command;
        return [
          {
            type: 'EvidencePackComposed',
            data: {
              packId: rest.packId,
              body: rest.body,
              period: { from, to },
              composedBy: rest.composedBy,
              approvalsNeeded: rest.approvalsNeeded,
              contents,
              composedAt: rest.at,
            },
          },
        ];
      }
      case 'ApproveEvidencePack': {
        const pack = pending(state, command.packId);
        if (pack.approvedBy.includes(command.by.partner)) {
          refuse('conflict', `${command.by.partner} has already approved evidence pack ${pack.packId}`);
        }
        return [
          {
            type: 'EvidencePackApproved',
            data: { packId: pack.packId, by: command.by, approvedAt: command.at },
          },
        ];
      }
      case 'DeclineEvidencePack': {
        const pack = pending(state, command.packId);
        const data = {
          packId: pack.packId,
          by: command.by,
          reason: reason(command.reason),
          declinedAt: command.at,
        };
        return [{ type: 'EvidencePackDeclined', data }];
      }
      case 'PublishEvidencePack': {
        const pack = pending(state, command.packId);
        const missing = pack.approvalsNeeded - pack.approvedBy.length;
        if (missing > 0) {
          refuse(
            'conflict',
            `evidence pack ${pack.packId} needs ${missing} more approval${missing === 1 ? '' : 's'} before it is published (approved so far by ${pack.approvedBy.join(', ')})`,
          );
        }
        const { digest, signature, keyId, by, at } = command;
        return [
          {
            type: 'EvidencePackPublished',
            data: { packId: pack.packId, body: pack.body, by, digest, signature, keyId, publishedAt: at },
          },
        ];
      }
      default:
        return unreachable(command);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'EvidencePackComposed':
        return {
          status: 'composed',
          packId: event.data.packId,
          body: event.data.body,
          approvalsNeeded: event.data.approvalsNeeded,
          approvedBy: [event.data.composedBy.partner],
        };
      case 'EvidencePackApproved':
        return state.status === 'none'
          ? state
          : { ...state, approvedBy: [...state.approvedBy, event.data.by.partner] };
      case 'EvidencePackDeclined':
        return state.status === 'none' ? state : { ...state, status: 'declined' };
      case 'EvidencePackPublished':
        return state.status === 'none' ? state : { ...state, status: 'published' };
      default:
        return unreachable(event);
    }
  },
};
