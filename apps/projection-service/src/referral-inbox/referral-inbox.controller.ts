import { consentPermits } from '@app/domain';
import { Actor, CurrentActor, Roles } from '@app/platform';
import { openFor } from '@app/privacy';
import { Controller, Get, Inject } from '@nestjs/common';
import { consentsOf, PROJECTION_RUNTIME, ProjectionRuntime } from '../shared/projection-runtime';
import { PersonRecord, ReferralView } from '../shared/read-models';

const DAY = 24 * 60 * 60 * 1000;

/** Referral inboxes and the referrer's closed loop: what was sent, and what became of it. */
@Controller('referrals')
export class ReferralInboxController {
  constructor(@Inject(PROJECTION_RUNTIME) private readonly runtime: ProjectionRuntime) {}

  @Roles('worker', 'steward')
  @Get('inbox')
  async inbox(@CurrentActor() actor: Actor) {
    const rows = await this.runtime.dataSource
      .getRepository(ReferralView)
      .find({ where: { toOrganisation: actor.organisation }, order: { requestedAt: 'DESC' } });
    return {
      organisation: actor.organisation,
      referrals: await Promise.all(rows.map((r) => this.present(r, actor))),
    };
  }

  @Roles('worker', 'steward')
  @Get('sent')
  async sent(@CurrentActor() actor: Actor) {
    const rows = await this.runtime.dataSource
      .getRepository(ReferralView)
      .find({ where: { fromPartner: actor.organisation }, order: { requestedAt: 'DESC' } });
    return {
      organisation: actor.organisation,
      referrals: await Promise.all(rows.map((r) => this.present(r, actor))),
    };
  }

  /** The person's name and the reason travel only with consent to share with the reader's organisation. */
  private async present(r: ReferralView, actor: Actor) {
    const { runtime } = this;
    const now = runtime.clock.now();
    const ownReferral = r.fromPartner === actor.organisation;
    const consents = await consentsOf(runtime, r.personRef);
    const mayRead =
      ownReferral ||
      consentPermits(consents, actor.organisation, 'referral', now) ||
      consentPermits(consents, actor.organisation, 'support', now);
    const overdueAfter = r.requestedAt.getTime() + runtime.consortium.referralAnswerWithinDays * DAY;
    const base = {
      referralId: r.referralId,
      personRef: r.personRef,
      from: r.fromPartner,
      to: r.toOrganisation,
      status: r.status,
      requestedAt: r.requestedAt.toISOString(),
      answeredAt: r.answeredAt?.toISOString() ?? null,
      overdue: r.status === 'requested' && now.getTime() > overdueAfter,
    };
    if (!mayRead)
      return {
        ...base,
        personal: null,
        withheld: 'the person has not consented to share their details with you yet',
      };
    const record = await runtime.dataSource
      .getRepository(PersonRecord)
      .findOneBy({ personRef: r.personRef, partner: r.fromPartner });
    const name = (record?.personal as { name?: unknown } | null)?.name ?? null;
    return { ...base, personal: await openFor(runtime.keys, r.personRef, { name, reason: r.reason }) };
  }
}
