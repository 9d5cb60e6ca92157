import { Consortium } from '@app/consortium';
import { organisationName } from '../shared/portal-runtime';

/** A journey entry as the projection answers it (its personal fields opened where consent allows). */
export interface JourneyEntry {
  eventId: string;
  type: string;
  partner: string;
  by: string;
  occurredAt: string;
  details: Record<string, unknown>;
}

/** One line of the timeline: what happened, in words, and the person's or worker's own words if any. */
export interface TimelineItem {
  at: string;
  partner: string;
  by: string;
  heading: string;
  lines: string[];
}

type D = Record<string, unknown>;
const words = (v: unknown) => (typeof v === 'string' && v ? v : null);
const spaced = (v: unknown) => String(v ?? '').replaceAll('-', ' ');
const pounds = (pence: unknown) =>
  typeof pence === 'number' && pence > 0 ? `£${(pence / 100).toFixed(2)}` : null;

/** How each kind of entry reads on the timeline. Presentation only: the entries are the projection's. */
const PRESENT: Record<
  string,
  (d: D, c: Consortium, e: JourneyEntry) => { heading: string; lines: (string | null)[] }
> = {
  PersonRegistered: () => ({ heading: 'Registered', lines: [] }),
  PersonWelcomed: (d, c) => {
    const via = d.via as D | undefined;
    return {
      heading: 'Welcomed',
      lines: [
        via?.kind === 'referral'
          ? `Through a referral from ${organisationName(c, String(via.fromPartner))}`
          : 'Walked in at this door',
      ],
    };
  },
  WhatMattersRevised: (d) => ({ heading: 'What matters was revised', lines: [words(d.whatMatters)] }),
  ContactRecorded: (d) => ({
    heading: `Contact: ${spaced(d.kind)}, ${d.durationMinutes} minutes`,
    lines: [words(d.notes)],
  }),
  SupportGiven: (d) => ({
    heading: `Support given: ${spaced(d.kind)}`,
    lines: [pounds(d.costPence) && `Cost ${pounds(d.costPence)}`, words(d.description)],
  }),
  LifeSystemMapped: (d) => ({
    heading: 'Life system mapped',
    lines: [Array.isArray(d.themes) && d.themes.length ? `Themes: ${d.themes.join(', ')}` : null],
  }),
  ReflectionRecorded: (d) => ({
    heading: 'Reflection',
    lines: [
      words(d.text),
      ...(Array.isArray(d.measures) ? (d.measures as D[]) : []).map(
        (m) => `${m.measure}: ${m.value} on a scale from ${m.min} to ${m.max}`,
      ),
    ],
  }),
  OutcomeRecorded: (d) => ({ heading: 'Outcome, in their words', lines: [words(d.words)] }),
  WellbeingMeasured: (d) => ({ heading: 'Wellbeing measured (SWEMWBS)', lines: [`Score ${d.metric}`] }),
  ConsentGiven: (d, c) => ({
    heading: 'Consent given',
    lines: [
      Array.isArray(d.partners)
        ? `To share with ${d.partners.map((p) => organisationName(c, String(p))).join(', ')}`
        : null,
      Array.isArray(d.purposes) ? `For ${d.purposes.map(spaced).join(', ')}` : null,
    ],
  }),
  ConsentWithdrawn: () => ({ heading: 'Consent withdrawn', lines: [] }),
  ReferralRequested: (d, c) => ({
    heading: `Referred to ${organisationName(c, String(d.toOrganisation))}`,
    lines: [words(d.reason)],
  }),
  // The entry's partner is the side that moved the referral.
  ReferralStatusChanged: (d, c, e) => ({
    heading: `Referral ${spaced(d.status)} by ${organisationName(c, e.partner)}`,
    lines: [words(d.reason)],
  }),
  PersonErased: () => ({ heading: 'Erased', lines: [] }),
};

export function timeline(entries: JourneyEntry[], c: Consortium): TimelineItem[] {
  return entries.map((e) => {
    const present = PRESENT[e.type] ?? (() => ({ heading: spaced(e.type), lines: [] }));
    const { heading, lines } = present(e.details ?? {}, c, e);
    return {
      at: e.occurredAt,
      partner: organisationName(c, e.partner),
      by: e.by,
      heading,
      lines: lines.filter((l): l is string => !!l),
    };
  });
}
