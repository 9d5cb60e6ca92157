import { isStatutoryBody } from '@app/consortium';
import { consentPermits } from '@app/domain';
import { Actor, Allow, CurrentActor, parseInput } from '@app/platform';
import { openFor } from '@app/privacy';
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { FindOptionsWhere } from 'typeorm';
import { z } from 'zod';
import { consentsOf, PROJECTION_RUNTIME, ProjectionRuntime } from '../shared/projection-runtime';
import { PersonRecord, ReferralView } from '../shared/read-models';

const DAY = 24 * 60 * 60 * 1000;
const mineInput = z.enum(['true', 'false']).optional();

/** Referral inboxes (per organisation, and per worker) and the referrer's closed loop: what became of each. */
@Controller('referrals')
export class ReferralInboxController {
  constructor(@Inject(PROJECTION_RUNTIME) private readonly runtime: ProjectionRuntime) {}

  /** `?mine=true`: the referrals this worker took on. */
  @Allow('referral.inbox')
  @Get('inbox')
  async inbox(@CurrentActor() actor: Actor, @Query('mine') mine?: string) {
    const where: FindOptionsWhere<ReferralView> = { toOrganisation: actor.organisation };
    if (parseInput(mineInput, mine, 'mine') === 'true') where.assignee = actor.userId;
    return this.list(where, actor);
  }

  @Allow('referral.sent')
  @Get('sent')
  async sent(@CurrentActor() actor: Actor) {
    return this.list({ fromPartner: actor.organisation }, actor);
  }

  private async list(where: FindOptionsWhere<ReferralView>, actor: Actor) {
    const rows = await this.runtime.dataSource
      .getRepository(ReferralView)
      .find({ where, order: { requestedAt: 'DESC' } });
    return {
      organisation: actor.organisation,
      referrals: await Promise.all(rows.map((r) => this.present(r, actor))),
    };
  }

  /**
   * The person's name and the reason travel only with consent to share with the reader's organisation, and
   * never to a statutory body: what is pushed up to them is the referral, not the person.
   */
  private async present(r: ReferralView, actor: Actor) {
    const { runtime } = this;
    const now = runtime.clock.now();
    const consents = await consentsOf(runtime, r.personRef);
    const mayRead =
      !isStatutoryBody(runtime.consortium, actor.organisation) &&
      (r.fromPartner === actor.organisation ||
        consentPermits(consents, actor.organisation, 'referral', now) ||
        consentPermits(consents, actor.organisation, 'support', now));
    const overdueAfter = r.requestedAt.getTime() + runtime.consortium.referralAnswerWithinDays * DAY;
    const base = {
      referralId: r.referralId,
      personRef: isStatutoryBody(runtime.consortium, actor.organisation) ? null : r.personRef,
      from: r.fromPartner,
      to: r.toOrganisation,
      status: r.status,
      assignee: r.assignee,
      requestedAt: r.requestedAt.toISOString(),
      answeredAt: r.answeredAt?.toISOString() ?? null,
      firstContactAt: r.firstContactAt?.toISOString() ?? null,
      overdue: r.status === 'requested' && now.getTime() > overdueAfter,
    };
    if (!mayRead)
      return {
        ...base,
        personal: null,
        withheld: 'the person has not consented to share their details with you',
      };
    const record = await runtime.dataSource
      .getRepository(PersonRecord)
      .findOneBy({ personRef: r.personRef, partner: r.fromPartner });
    const name = (record?.personal as { name?: unknown } | null)?.name ?? null;
    return { ...base, personal: await openFor(runtime.keys, r.personRef, { name, reason: r.reason }) };
  }
}
