import { consentPermits } from '@app/domain';
import { Actor, CurrentActor, forbidden, notFound, parseInput, Roles } from '@app/platform';
import { openFor } from '@app/privacy';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import { consentsOf, PROJECTION_RUNTIME, ProjectionRuntime } from '../shared/projection-runtime';
import { JourneyEntry, JourneyRead, PersonRecord, ReferralView } from '../shared/read-models';

const personRef = z.string().regex(/^[A-Z]{2,4}-[0-9A-HJKMNP-TV-Z]{10}$/, 'is not a consortium reference');

/**
 * The no-wrong-door view: one timeline of a person's journey across every partner they consented to share
 * it with, so that nobody has to ask them to tell their story again.
 */
@Controller('people')
export class JourneysController {
  constructor(@Inject(PROJECTION_RUNTIME) private readonly runtime: ProjectionRuntime) {}

  @Roles('worker')
  @Get(':personRef/journey')
  async journey(
    @Param('personRef') ref: string,
    @Query('purpose') purposeParam: string | undefined,
    @CurrentActor() actor: Actor,
  ) {
    const ref_ = parseInput(personRef, ref, 'person reference');
    const purpose = purposeParam ?? 'support';
    const { dataSource, keys, clock } = this.runtime;
    const now = clock.now();
    const records = await dataSource.getRepository(PersonRecord).findBy({ personRef: ref_ });
    if (records.length === 0) throw notFound(`There is no journey for ${ref_} in this consortium`);
    const holdsRecord = records.some((r) => r.partner === actor.organisation);
    const consented = consentPermits(
      await consentsOf(this.runtime, ref_),
      actor.organisation,
      'support',
      now,
    );
    if (!consented && !holdsRecord) {
      throw forbidden(
        `${ref_} has not consented to share their journey with ${actor.organisation}. ` +
          'Ask the person; their consent is recorded by a partner that already supports them.',
      );
    }
    const entries = await dataSource
      .getRepository(JourneyEntry)
      .find({ where: { personRef: ref_ }, order: { occurredAt: 'DESC', eventId: 'ASC' } });
    // Without consent a partner sees only its own entries; with it, the whole journey.
    const visible = consented ? entries : entries.filter((e) => e.partner === actor.organisation);
    if (visible.some((e) => e.partner !== actor.organisation)) {
      await dataSource.getRepository(JourneyRead).insert({
        personRef: ref_,
        readerOrganisation: actor.organisation,
        readerUser: actor.userId,
        purpose,
        readAt: now,
      });
    }
    const registration = records.find((r) => r.personal && (consented || r.partner === actor.organisation));
    const referrals = await dataSource.getRepository(ReferralView).findBy({ personRef: ref_ });
    return openFor(keys, ref_, {
      personRef: ref_,
      erased: await keys.isErased(ref_),
      person: registration ? { registeredBy: registration.partner, ...registration.personal } : null,
      // Which other partners know the person is itself shared only with consent.
      knownTo: records
        .map((r) => r.partner)
        .filter((p) => consented || p === actor.organisation)
        .sort(),
      openReferrals: referrals
        .filter((r) => r.status === 'requested' && (consented || r.fromPartner === actor.organisation))
        .map((r) => ({
          referralId: r.referralId,
          from: r.fromPartner,
          to: r.toOrganisation,
          requestedAt: r.requestedAt,
        })),
      entries: visible.map((e) => ({
        eventId: e.eventId,
        type: e.eventType,
        partner: e.partner,
        by: e.actor,
        occurredAt: e.occurredAt.toISOString(),
        details: e.details,
      })),
    });
  }
}
