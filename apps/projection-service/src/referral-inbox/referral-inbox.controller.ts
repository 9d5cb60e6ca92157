import { isStatutoryBody } from '@app/consortium';
import { ConsentRecord, consentPermits } from '@app/domain';
import { Actor, Allow, badRequest, CurrentActor, notFound, parseInput } from '@app/platform';
import { keyIdsIn, openAll } from '@app/privacy';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import { consentsOfMany, PROJECTION_RUNTIME, ProjectionRuntime } from '../shared/projection-runtime';
import { ReferralView } from '../shared/read-models';

const DAY = 24 * 60 * 60 * 1000;
const pageInput = z
  .object({
    mine: z.enum(['true', 'false']).optional(),
    /** The `next` of the page before: the referrals requested before it. */
    before: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
  })
  .strict();

/** A page ends at a referral; the next starts after it (newest first, ties by id). */
const encodeBefore = (r: ReferralView) =>
  Buffer.from(`${r.requestedAt.toISOString()}|${r.referralId}`).toString('base64url');
function decodeBefore(cursor: string): { at: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!at || !id || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(id))
    throw badRequest('The page cursor is not one this service gave out', [
      { field: 'before', reason: 'pass back the "next" of the page before, exactly as received' },
    ]);
  return { at: new Date(at), id };
}

/** Referral inboxes (per organisation, and per worker) and the referrer's closed loop: what became of each. */
@Controller('referrals')
export class ReferralInboxController {
  constructor(@Inject(PROJECTION_RUNTIME) private readonly runtime: ProjectionRuntime) {}

  /** `?mine=true`: the referrals this worker took on. Newest first, a page at a time (`limit`, `before`). */
  @Allow('referral.inbox')
  @Get('inbox')
  async inbox(@CurrentActor() actor: Actor, @Query() query: unknown) {
    const page = parseInput(pageInput, query, 'query');
    const mine = page.mine === 'true' ? 'AND r.assignee = :user' : '';
    return this.list(`r.to_organisation = :organisation ${mine}`, page, actor);
  }

  @Allow('referral.sent')
  @Get('sent')
  async sent(@CurrentActor() actor: Actor, @Query() query: unknown) {
    const page = parseInput(pageInput.omit({ mine: true }), query, 'query');
    return this.list('r.from_partner = :organisation', page, actor);
  }

  /** One referral, to the organisation it was made to or the partner that made it. */
  @Allow('referral.inbox')
  @Get(':referralId')
  async one(@Param('referralId') id: string, @CurrentActor() actor: Actor) {
    const referralId = parseInput(z.string().uuid('is not a referral id'), id, 'referralId');
    const { referrals } = await this.list(
      'r.referral_id = :referralId AND (r.to_organisation = :organisation OR r.from_partner = :organisation)',
      { limit: 1 },
      actor,
      { referralId },
    );
    if (!referrals.length)
      throw notFound(`There is no referral ${referralId} to or from ${actor.organisation}`);
    return referrals[0];
  }

  private async list(
    where: string,
    page: { before?: string; limit: number },
    actor: Actor,
    more: Record<string, unknown> = {},
  ) {
    const { runtime } = this;
    const before = page.before ? decodeBefore(page.before) : null;
    const query = runtime.dataSource
      .getRepository(ReferralView)
      .createQueryBuilder('r')
      .where(where, { organisation: actor.organisation, user: actor.userId, ...more })
      .orderBy('r.requested_at', 'DESC')
      .addOrderBy('r.referral_id', 'DESC')
      .take(page.limit + 1);
    if (before)
      query.andWhere('(r.requested_at, r.referral_id) < (:at, :id)', { at: before.at, id: before.id });
    const found = await query.getMany();
    const rows = found.slice(0, page.limit);
    // What the page needs, fetched once for all of it: consents, the referrers' records of the people, keys.
    const consents = await consentsOfMany(
      runtime,
      rows.map((r) => r.personRef),
    );
    const schema = (runtime.dataSource.options as { schema: string }).schema;
    const records: { person_ref: string; partner: string; personal: object | null }[] = rows.length
      ? await runtime.dataSource.query(
          `SELECT r.person_ref, r.partner, r.personal FROM ${schema}.person_records r
             JOIN unnest($1::text[], $2::text[]) AS p(person_ref, partner)
               ON r.person_ref = p.person_ref AND r.partner = p.partner`,
          [rows.map((r) => r.personRef), rows.map((r) => r.fromPartner)],
        )
      : [];
    const named = new Map(records.map((p) => [`${p.person_ref}|${p.partner}`, p.personal]));
    const presented = rows.map((r) => this.present(r, actor, consents.get(r.personRef) ?? [], named));
    const kids = presented.flatMap((p) => (p.sealed ? [...keyIdsIn(p.sealed.value)] : []));
    const keys = await runtime.keys.findKeys(kids);
    return {
      organisation: actor.organisation,
      referrals: presented.map(({ sealed, ...p }) =>
        sealed ? { ...p, personal: openAll(sealed.value, sealed.personRef, keys) } : p,
      ),
      next: found.length > page.limit ? encodeBefore(rows[rows.length - 1]) : null,
    };
  }

  /**
   * The person's name and the reason travel only with consent to share with the reader's organisation, and
   * never to a statutory body: what is pushed up to them is the referral, not the person.
   */
  private present(
    r: ReferralView,
    actor: Actor,
    consents: ConsentRecord[],
    named: Map<string, object | null>,
  ) {
    const { runtime } = this;
    const now = runtime.clock.now();
    const statutory = isStatutoryBody(runtime.consortium, actor.organisation);
    const mayRead =
      !statutory &&
      (r.fromPartner === actor.organisation ||
        consentPermits(consents, actor.organisation, 'referral', now) ||
        consentPermits(consents, actor.organisation, 'support', now));
    const overdueAfter = r.requestedAt.getTime() + runtime.consortium.referralAnswerWithinDays * DAY;
    const base = {
      referralId: r.referralId,
      personRef: statutory ? null : r.personRef,
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
        sealed: null,
      };
    const name = (named.get(`${r.personRef}|${r.fromPartner}`) as { name?: unknown } | null)?.name ?? null;
    return { ...base, personal: null, sealed: { personRef: r.personRef, value: { name, reason: r.reason } } };
  }
}
