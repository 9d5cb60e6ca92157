import { ReferralEvent } from '@app/domain';
import { Delivery, MessageBus, parseCloudEventType, Subscription, topicFor } from '@app/messaging';
import { CommandBus } from '@nestjs/cqrs';
import { PartnerRuntime } from '../shared/partner-runtime';
import { ReceiveReferral } from './referrals';

type Requested = Extract<ReferralEvent, { type: 'ReferralRequested' }>['data'];

/**
 * The receiving end of a closed-loop referral: a partner follows the backbone and takes each referral
 * addressed to it into its own store, where its workers answer it. Redeliveries change nothing.
 */
export function followReferrals(
  runtime: PartnerRuntime,
  bus: MessageBus,
  commands: CommandBus,
): Promise<Subscription> {
  return bus.subscribe(
    {
      groupId: `${runtime.partnerId}.referral-intake`,
      topics: [topicFor(runtime.consortium.id, 'person')],
      fromBeginning: true,
    },
    async (batch: Delivery[]) => {
      for (const d of batch) {
        if (parseCloudEventType(d.event.type)?.eventType !== 'ReferralRequested') continue;
        const requested = d.event.data as Requested;
        if (requested.toOrganisation !== runtime.partnerId) continue;
        await commands.execute(
          new ReceiveReferral(requested, {
            actor: {
              userId: 'system:referral-intake',
              name: 'Referral intake',
              organisation: runtime.partnerId,
              role: 'worker',
            },
            correlationId: d.event.correlationid,
            causationId: d.event.id,
          }),
        );
      }
      return undefined;
    },
  );
}
