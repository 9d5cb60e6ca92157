import { isStatutoryBody } from '@app/consortium';
import { ConsentRecord, consentPermits } from '@app/domain';
import { Actor, Allow, badRequest, CurrentActor, notFound, parseInput } from '@app/platform';
import { keyIdsIn, openAll } from '@app/privacy';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import { PROJECTION_RUNTIME, ProjectionRuntime, readQuery } from '../shared/projection-runtime';

const DAY = 24 * 60 * 60 * 1000;
const pageInput = z
  .object({
    mine: z.enum(['true', 'false']).optional(),
    /** The `next` of the page before: the referrals requested before it. */
    before: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
  })
  .strict();

/** A referral as the page's query returns it. */
interface PageRow {
  referral_id: string;
  person_ref: string;
  from_partner: string;
  to_organisation: string;
  status: string;
  assignee: string | null;
  reason: object;
  requested_at: Date;
  answered_at: Date | null;
  first_contact_at: Date | null;
  consents: ConsentRecord[];
  /** The name in the referrer's record of the person (sealed), if it has one. */
  name: unknown;
}

/** A page ends at a referral; the next starts after it (newest first, ties by id). */
const encodeBefore = (r: PageRow) =>
  Buffer.from(`${r.requested_at.toISOString()}|${r.referral_id}`).toString('base64url');
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
    return this.list(
      (p) =>
        `r.to_organisation = ${p(actor.organisation)}` +
        (page.mine === 'true' ? ` AND r.assignee = ${p(actor.userId)}` : ''),
      page,
      actor,
    );
  }

  @Allow('referral.sent')
  @Get('sent')
  async sent(@CurrentActor() actor: Actor, @Query() query: unknown) {
    const page = parseInput(pageInput.omit({ mine: true }), query, 'query');
    return this.list((p) => `r.from_partner = ${p(actor.organisation)}`, page, actor);
  }

  /** One referral, to the organisation it was made to or the partner that made it. */
  @Allow('referral.inbox')
  @Get(':referralId')
  async one(@Param('referralId') id: string, @CurrentActor() actor: Actor) {
    const referralId = parseInput(z.string().uuid('is not a referral id'), id, 'referralId');
    const { referrals } = await this.list(
      (p) =>
        `r.referral_id = ${p(referralId)} AND ${p(actor.organisation)} IN (r.to_organisation, r.from_partner)`,
      { limit: 1 },
      actor,
    );
    if (!referrals.length)
      throw notFound(`There is no referral ${referralId} to or from ${actor.organisation}`);
    return referrals[0];
  }

  /**
   * A page of referrals in one query, each with what presenting it needs: the person's consents and the name
   * from the referrer's record of them. `where` names its values through `p`, which binds each as a parameter.
   */
  private async list(
    where: (p: (value: unknown) => string) => string,
    page: { before?: string; limit: number },
    actor: Actor,
  ) {
    const { runtime } = this;
    const before = page.before ? decodeBefore(page.before) : null;
    const params: unknown[] = [];
    const p = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const s = (runtime.dataSource.options as { schema: string }).schema;
    const iso = (c: string) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
    const found = await readQuery<PageRow>(
      runtime,
      `WITH page AS (
         SELECT * FROM ${s}.referrals r
          WHERE ${where(p)}
                ${before ? `AND (r.requested_at, r.referral_id) < (${p(before.at)}::timestamptz, ${p(before.id)}::uuid)` : ''}
          ORDER BY r.requested_at DESC, r.referral_id DESC
          LIMIT ${p(page.limit + 1)})
       SELECT p.referral_id, p.person_ref, p.from_partner, p.to_organisation, p.status, p.assignee, p.reason,
              p.requested_at, p.answered_at, p.first_contact_at,
              (SELECT coalesce(json_agg(json_build_object('consentId', c.consent_id, 'partners', c.partners,
                        'purposes', c.purposes, 'validFrom', ${iso('c.valid_from')},
                        'validUntil', ${iso('c.valid_until')}, 'withdrawnAt', ${iso('c.withdrawn_at')})), '[]')
                 FROM ${s}.consents c WHERE c.person_ref = p.person_ref) AS consents,
              (SELECT pr.personal->'name' FROM ${s}.person_records pr
                WHERE pr.person_ref = p.person_ref AND pr.partner = p.from_partner) AS name
         FROM page p
        ORDER BY p.requested_at DESC, p.referral_id DESC`,
      params,
    );
    const rows = found.slice(0, page.limit);
    const presented = rows.map((r) => this.present(r, actor));
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
  private present(r: PageRow, actor: Actor) {
    const { runtime } = this;
    const now = runtime.clock.now();
    const statutory = isStatutoryBody(runtime.consortium, actor.organisation);
    const mayRead =
      !statutory &&
      (r.from_partner === actor.organisation ||
        consentPermits(r.consents, actor.organisation, 'referral', now) ||
        consentPermits(r.consents, actor.organisation, 'support', now));
    const overdueAfter = r.requested_at.getTime() + runtime.consortium.referralAnswerWithinDays * DAY;
    const base = {
      referralId: r.referral_id,
      personRef: statutory ? null : r.person_ref,
      from: r.from_partner,
      to: r.to_organisation,
      status: r.status,
      assignee: r.assignee,
      requestedAt: r.requested_at.toISOString(),
      answeredAt: r.answered_at?.toISOString() ?? null,
      firstContactAt: r.first_contact_at?.toISOString() ?? null,
      overdue: r.status === 'requested' && now.getTime() > overdueAfter,
    };
    if (!mayRead)
      return {
        ...base,
        personal: null,
        withheld: 'the person has not consented to share their details with you',
        sealed: null,
      };
    return {
      ...base,
      personal: null,
      sealed: { personRef: r.person_ref, value: { name: r.name ?? null, reason: r.reason } },
    };
  }
}
