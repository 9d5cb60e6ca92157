import { DomainError, ReferralCommand, ReferralEvent } from '@app/domain';
import { Delivery, MessageBus, parseCloudEventType, Subscription, topicFor } from '@app/messaging';
import { withEvent } from '@app/observability';
import { PersonErasedError } from '@app/privacy';
import { Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { PartnerRuntime } from '../shared/partner-runtime';
import { TakeInReferral } from './referrals';

type Data<T extends ReferralEvent['type']> = Extract<ReferralEvent, { type: T }>['data'];

/**
 * Both ends of a closed-loop referral follow the backbone: the receiving partner takes each referral
 * addressed to it into its own store, and each side takes in the changes the other side records, so each
 * decides on the whole story. Redeliveries change nothing.
 */
export function followReferrals(
  runtime: PartnerRuntime,
  bus: MessageBus,
  commands: CommandBus,
): Promise<Subscription> {
  const me = runtime.partnerId;
  return bus.subscribe(
    {
      groupId: `${runtime.consortium.id}.${me}.referral-intake`,
      topics: [topicFor(runtime.consortium.id, 'person')],
      fromBeginning: true,
    },
    async (batch: Delivery[]) => {
      for (const d of batch) {
        const command = takeIn(
          me,
          parseCloudEventType(d.event.type)?.eventType,
          d.event.data,
          d.event.partner,
          d.event.time,
        );
        if (!command) continue;
        // In the trace of the event's publish, with its correlation id (no-op outside an observed service).
        await withEvent(d.event, `take in ${command.type}`, () =>
          takeInUnlessErased(
            commands,
            new TakeInReferral(
              command.referralId,
              command,
              (d.event.data as { personRef: string }).personRef,
              {
                actor: {
                  userId: 'system:referral-intake',
                  name: 'Referral intake',
                  organisation: me,
                  role: 'worker',
                },
                correlationId: d.event.correlationid,
                causationId: d.event.id,
              },
            ),
          ),
        );
      }
      return undefined;
    },
  );
}

/** What this partner takes in from an event on the backbone, if anything. */
function takeIn(
  me: string,
  type: string | undefined,
  data: unknown,
  by: string,
  time: string,
): ReferralCommand | null {
  const at = new Date().toISOString();
  if (type === 'ReferralRequested') {
    const r = data as Data<'ReferralRequested'>;
    if (r.toOrganisation !== me) return null;
    const { referralId, personRef, fromPartner, toOrganisation, requestedAt } = r;
    return { type: 'ReceiveReferral', referralId, personRef, fromPartner, toOrganisation, requestedAt, at };
  }
  if (type === 'ReferralStatusChanged') {
    const c = data as Data<'ReferralStatusChanged'>;
    const otherSide = c.side === 'recipient' ? c.fromPartner : c.toOrganisation;
    if (otherSide !== me || by === me) return null;
    return {
      type: 'ReceiveReferralUpdate',
      referralId: c.referralId,
      status: c.status,
      changedBy: by,
      changedAt: time,
      at,
    };
  }
  return null;
}

/**
 * Takes in what the other side recorded. Nothing more is recorded about an erased person, and a change this
 * side's rules refuse (for a referral it never held, say) is logged and passed by: neither is retried forever.
 * A concurrent change or an unreachable store is thrown, so the batch comes again.
 */
async function takeInUnlessErased(commands: CommandBus, command: TakeInReferral): Promise<void> {
  try {
    await commands.execute(command);
  } catch (e) {
    if (e instanceof DomainError) log.warn(`referral ${command.referralId}: not taken in: ${e.message}`);
    else if (!(e instanceof PersonErasedError)) throw e;
  }
}

const log = new Logger('referral-intake');
