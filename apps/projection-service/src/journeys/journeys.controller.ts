import { ConsentRecord, consentPermits, wellbeingChange } from '@app/domain';
import { Actor, Allow, CurrentActor, forbidden, notFound, parseInput } from '@app/platform';
import { openForReader } from '@app/privacy';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import {
  consentRecordOf,
  PROJECTION_RUNTIME,
  ProjectionRuntime,
  readQuery,
} from '../shared/projection-runtime';
import { ConsentView, JourneyRead, PersonRecord } from '../shared/read-models';

const personRefInput = z
  .string()
  .regex(/^[A-Z]{2,4}-[0-9A-HJKMNP-TV-Z]{10}$/, 'is not a consortium reference');
const OPEN_REFERRAL = ['requested', 'accepted', 'in-progress', 'on-hold'];

/** What the journey view reads, as its one query returns it (times as ISO strings). */
interface JourneyOf {
  records: { partner: string; personal: object | null }[];
  consents: ConsentRecord[];
  entries: {
    eventId: string;
    type: string;
    partner: string;
    by: string;
    occurredAt: string;
    details: object;
  }[];
  summary: { whatMatters: object | null; lifeSystem: object | null; themes: string[] } | null;
  referrals: { referralId: string; from: string; to: string; status: string; requestedAt: string }[];
}

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
    const { records, consents, entries, summary, referrals } = await this.journeyOf(personRef);
    if (records.length === 0) throw notFound(`There is no journey for ${personRef} in this consortium`);
    const holdsRecord = records.some((r) => r.partner === actor.organisation);
    const consented = consentPermits(consents, actor.organisation, 'support', now);
    if (!consented && !holdsRecord) {
      throw forbidden(
        `${personRef} has not consented to share their journey with ${actor.organisation}. ` +
          'Ask the person; their consent is recorded by a partner that already supports them.',
      );
    }
    // Without consent a partner sees only its own entries; with it, the whole journey.
    const visible = consented ? entries : entries.filter((e) => e.partner === actor.organisation);
    const registration = records.find((r) => r.personal && (consented || r.partner === actor.organisation));
    const measured = visible
      .filter((e) => e.type === 'WellbeingMeasured')
      .map((e) => ({ at: e.occurredAt, metric: (e.details as { metric: number }).metric }));
    const view = {
      person: registration ? { registeredBy: registration.partner, ...registration.personal } : null,
      whatMatters:
        (consented ? summary?.whatMatters : null) ??
        (registration?.personal as { whatMatters?: object } | null)?.whatMatters ??
        null,
      lifeSystem: (consented ? summary?.lifeSystem : null) ?? null,
      themes: (consented ? summary?.themes : null) ?? [],
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
      openReferrals: referrals.filter(
        (r) => consented || r.from === actor.organisation || r.to === actor.organisation,
      ),
      entries: visible,
    };
    // The read of another organisation's records is recorded before anything is shown; the key service is
    // asked (erased? the keys to open the view) at the same time.
    const [, opened] = await Promise.all([
      visible.some((e) => e.partner !== actor.organisation)
        ? dataSource.getRepository(JourneyRead).insert({
            personRef,
            readerOrganisation: actor.organisation,
            readerUser: actor.userId,
            purpose,
            readAt: now,
          })
        : null,
      openForReader(keys, personRef, view),
    ]);
    return { personRef, erased: opened.erased, ...opened.value };
  }

  /**
   * Everything the journey view reads about a person, in one query: their records at each partner, consents,
   * journey entries (newest first), summary and open referrals, each aggregated as JSON and with times as
   * ISO strings, as the view gives them.
   */
  private async journeyOf(personRef: string): Promise<JourneyOf> {
    const s = (this.runtime.dataSource.options as { schema: string }).schema;
    const iso = (c: string) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
    const [row] = await readQuery<JourneyOf>(
      this.runtime,
      `SELECT
         (SELECT coalesce(json_agg(json_build_object('partner', r.partner, 'personal', r.personal)), '[]')
            FROM ${s}.person_records r WHERE r.person_ref = $1) AS records,
         (SELECT coalesce(json_agg(json_build_object('consentId', c.consent_id, 'partners', c.partners,
                   'purposes', c.purposes, 'validFrom', ${iso('c.valid_from')},
                   'validUntil', ${iso('c.valid_until')}, 'withdrawnAt', ${iso('c.withdrawn_at')})), '[]')
            FROM ${s}.consents c WHERE c.person_ref = $1) AS consents,
         (SELECT coalesce(json_agg(json_build_object('eventId', e.event_id, 'type', e.event_type,
                   'partner', e.partner, 'by', e.actor, 'occurredAt', ${iso('e.occurred_at')}, 'details', e.details)
                   ORDER BY e.occurred_at DESC, e.event_id), '[]')
            FROM ${s}.journey_entries e WHERE e.person_ref = $1) AS entries,
         (SELECT json_build_object('whatMatters', m.what_matters, 'lifeSystem', m.life_system, 'themes', m.themes)
            FROM ${s}.person_summaries m WHERE m.person_ref = $1) AS summary,
         (SELECT coalesce(json_agg(json_build_object('referralId', f.referral_id, 'from', f.from_partner,
                   'to', f.to_organisation, 'status', f.status, 'requestedAt', ${iso('f.requested_at')})), '[]')
            FROM ${s}.referrals f WHERE f.person_ref = $1 AND f.status = ANY($2)) AS referrals`,
      [personRef, OPEN_REFERRAL],
    );
    return row as JourneyOf;
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
