import { consentPermits, wellbeingChange } from '@app/domain';
import { Actor, Allow, CurrentActor, forbidden, notFound, parseInput } from '@app/platform';
import { openFor } from '@app/privacy';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { In } from 'typeorm';
import { z } from 'zod';
import {
  consentRecordOf,
  consentsOf,
  PROJECTION_RUNTIME,
  ProjectionRuntime,
} from '../shared/projection-runtime';
import {
  ConsentView,
  JourneyEntry,
  JourneyRead,
  PersonRecord,
  PersonSummary,
  ReferralView,
} from '../shared/read-models';

const personRefInput = z
  .string()
  .regex(/^[A-Z]{2,4}-[0-9A-HJKMNP-TV-Z]{10}$/, 'is not a consortium reference');
const OPEN_REFERRAL = ['requested', 'accepted', 'in-progress', 'on-hold'];

/**
 * The no-wrong-door view: one timeline of a person's journey across every partner they consented to share
 * it with, so that nobody has to ask them to tell their story again.
 */
@Controller('people')
export class JourneysController {
  constructor(@Inject(PROJECTION_RUNTIME) private readonly runtime: ProjectionRuntime) {}

  @Allow('journey.read')
  @Get(':personRef/journey')
  async journey(
    @Param('personRef') ref: string,
    @Query('purpose') purposeParam: string | undefined,
    @CurrentActor() actor: Actor,
  ) {
    const personRef = parseInput(personRefInput, ref, 'personRef');
    const purpose = parseInput(z.string().max(200).default('support'), purposeParam, 'purpose');
    const { dataSource, keys, clock } = this.runtime;
    const now = clock.now();
    const records = await this.recordsOf(personRef);
    const holdsRecord = records.some((r) => r.partner === actor.organisation);
    const consented = consentPermits(
      await consentsOf(this.runtime, personRef),
      actor.organisation,
      'support',
      now,
    );
    if (!consented && !holdsRecord) {
      throw forbidden(
        `${personRef} has not consented to share their journey with ${actor.organisation}. ` +
          'Ask the person; their consent is recorded by a partner that already supports them.',
      );
    }
    const entries = await dataSource
      .getRepository(JourneyEntry)
      .find({ where: { personRef }, order: { occurredAt: 'DESC', eventId: 'ASC' } });
    // Without consent a partner sees only its own entries; with it, the whole journey.
    const visible = consented ? entries : entries.filter((e) => e.partner === actor.organisation);
    if (visible.some((e) => e.partner !== actor.organisation)) {
      await dataSource.getRepository(JourneyRead).insert({
        personRef,
        readerOrganisation: actor.organisation,
        readerUser: actor.userId,
        purpose,
        readAt: now,
      });
    }
    const registration = records.find((r) => r.personal && (consented || r.partner === actor.organisation));
    const summary = consented ? await dataSource.getRepository(PersonSummary).findOneBy({ personRef }) : null;
    const referrals = await dataSource
      .getRepository(ReferralView)
      .findBy({ personRef, status: In(OPEN_REFERRAL) });
    const measured = visible
      .filter((e) => e.eventType === 'WellbeingMeasured')
      .map((e) => ({ at: e.occurredAt.toISOString(), metric: (e.details as { metric: number }).metric }));
    return openFor(keys, personRef, {
      personRef,
      erased: await keys.isErased(personRef),
      person: registration ? { registeredBy: registration.partner, ...registration.personal } : null,
      whatMatters:
        summary?.whatMatters ??
        (registration?.personal as { whatMatters?: object } | null)?.whatMatters ??
        null,
      lifeSystem: summary?.lifeSystem ?? null,
      themes: summary?.themes ?? [],
      wellbeing: measured.length
        ? {
            measurements: measured,
            change: wellbeingChange(measured, this.runtime.consortium.wellbeing.swemwbs.meaningfulChange),
          }
        : null,
      // Which other partners know the person is itself shared only with consent.
      knownTo: records
        .map((r) => r.partner)
        .filter((p) => consented || p === actor.organisation)
        .sort(),
      openReferrals: referrals
        .filter(
          (r) => consented || r.fromPartner === actor.organisation || r.toOrganisation === actor.organisation,
        )
        .map((r) => ({
          referralId: r.referralId,
          from: r.fromPartner,
          to: r.toOrganisation,
          status: r.status,
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

  /** The person's consent history, for them to see through a worker of a partner that supports them. */
  @Allow('consent.history')
  @Get(':personRef/consents')
  async consents(@Param('personRef') ref: string, @CurrentActor() actor: Actor) {
    const personRef = await this.holderOnly(ref, actor);
    const rows = await this.runtime.dataSource
      .getRepository(ConsentView)
      .find({ where: { personRef }, order: { validFrom: 'DESC' } });
    const now = this.runtime.clock.now();
    return {
      personRef,
      consents: rows.map((c) => ({
        ...consentRecordOf(c),
        recordedBy: c.recordedBy,
        inForce:
          c.validFrom <= now &&
          (!c.validUntil || c.validUntil > now) &&
          (!c.withdrawnAt || c.withdrawnAt > now),
      })),
    };
  }

  /** Who outside the partners that hold the person's records read their journey: who, when, why. */
  @Allow('journey.reads')
  @Get(':personRef/reads')
  async reads(@Param('personRef') ref: string, @CurrentActor() actor: Actor) {
    const personRef = await this.holderOnly(ref, actor);
    const rows = await this.runtime.dataSource
      .getRepository(JourneyRead)
      .find({ where: { personRef }, order: { readAt: 'DESC' } });
    return {
      personRef,
      reads: rows.map((r) => ({
        organisation: r.readerOrganisation,
        user: r.readerUser,
        purpose: r.purpose,
        at: r.readAt.toISOString(),
      })),
    };
  }

  private async recordsOf(personRef: string): Promise<PersonRecord[]> {
    const records = await this.runtime.dataSource.getRepository(PersonRecord).findBy({ personRef });
    if (records.length === 0) throw notFound(`There is no journey for ${personRef} in this consortium`);
    return records;
  }

  /** Only a partner that holds a record of the person; anyone else is refused without learning more. */
  private async holderOnly(ref: string, actor: Actor): Promise<string> {
    const personRef = parseInput(personRefInput, ref, 'personRef');
    const records = await this.recordsOf(personRef);
    if (!records.some((r) => r.partner === actor.organisation)) {
      throw forbidden(`Only a partner that supports ${personRef} sees this`);
    }
    return personRef;
  }
}
