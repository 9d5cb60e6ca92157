import { randomUUID } from 'node:crypto';
import { CONTACT_KINDS, PersonCommand, SUPPORT_KINDS, scoreSwemwbs } from '@app/domain';
import { RecordKind, Sealed } from '@app/privacy';
import { z } from 'zod';
import { isoDateTime } from '../shared/http';
import { PartnerRuntime } from '../shared/partner-runtime';

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const enumOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { errorMap: () => ({ message: `must be one of ${values.join(', ')}` }) });

/** Seals one personal field of this person, under the key for its kind and the year it is about. */
export type SealField = (kind: RecordKind, at: string, value: unknown) => Promise<Sealed>;

interface JourneyRecordType<S extends z.ZodTypeAny> {
  /** What a worker sends. */
  input: (runtime: PartnerRuntime) => S;
  /** The domain command, its personal fields sealed. */
  command: (input: z.output<S>, id: string, seal: SealField, at: string) => Promise<PersonCommand>;
}

function recordType<S extends z.ZodTypeAny>(t: JourneyRecordType<S>): JourneyRecordType<S> {
  return t;
}

const when = (input: { occurredAt: string }) => new Date(input.occurredAt).toISOString();

/**
 * The records of work on a person's journey, each posted to `/people/{ref}/{path}`. One table, so that the
 * endpoints, their validation and their API description cannot drift apart.
 */
export const JOURNEY_RECORDS = {
  contacts: recordType({
    input: () =>
      z
        .object({
          kind: enumOf(CONTACT_KINDS),
          occurredAt: isoDateTime,
          durationMinutes: z
            .number()
            .int('must be whole minutes')
            .min(0)
            .max(1440, 'must be at most a day (1440)'),
          notes: text(5000).optional(),
        })
        .strict(),
    command: async (i, id, seal, at) => ({
      type: 'RecordContact',
      id,
      kind: i.kind,
      occurredAt: when(i),
      durationMinutes: i.durationMinutes,
      notes: i.notes ? await seal('contact-notes', when(i), i.notes) : null,
      at,
    }),
  }),
  support: recordType({
    input: () =>
      z
        .object({
          kind: enumOf(SUPPORT_KINDS),
          occurredAt: isoDateTime,
          /** Money spent, in pounds (as the seed's case study counts it: "£90"); 0 when none was. */
          costPounds: z
            .number()
            .min(0, 'cannot be negative')
            .max(100000, 'must be at most £100,000')
            .default(0),
          description: text(2000).optional(),
        })
        .strict(),
    command: async (i, id, seal, at) => ({
      type: 'RecordSupport',
      id,
      kind: i.kind,
      occurredAt: when(i),
      costPence: Math.round(i.costPounds * 100),
      description: i.description ? await seal('contact-notes', when(i), i.description) : null,
      at,
    }),
  }),
  'life-system': recordType({
    input: (runtime) => {
      const themes = runtime.consortium.themes;
      const actor = z
        .object({ name: text(200), relationship: text(200), helps: z.boolean().optional() })
        .strict();
      const factor = z
        .object({ factor: text(200), theme: enumOf(themes as [string, ...string[]]).optional() })
        .strict();
      return z
        .object({
          occurredAt: isoDateTime,
          actors: z.array(actor).max(50),
          factors: z.array(factor).max(50),
          relationships: z.array(text(500)).max(50).default([]),
          themes: z
            .array(enumOf(themes as [string, ...string[]]))
            .max(themes.length)
            .default([]),
        })
        .strict();
    },
    command: async (i, id, seal, at) => ({
      type: 'MapLifeSystem',
      id,
      occurredAt: when(i),
      themes: [
        ...new Set([
          ...i.themes,
          ...i.factors.flatMap((f: { theme?: string }) => (f.theme ? [f.theme] : [])),
        ]),
      ],
      map: await seal('life-system', when(i), {
        actors: i.actors,
        factors: i.factors,
        relationships: i.relationships,
      }),
      at,
    }),
  }),
  reflections: recordType({
    input: () =>
      z
        .object({
          occurredAt: isoDateTime,
          text: text(5000).optional(),
          /** Soft measures the person chooses, each on its own scale. */
          measures: z
            .array(
              z
                .object({ measure: text(100), value: z.number(), min: z.number(), max: z.number() })
                .strict()
                .refine((m) => m.min < m.max && m.value >= m.min && m.value <= m.max, {
                  message: 'value must lie on its own scale, from min to max (min below max)',
                }),
            )
            .max(20)
            .default([]),
        })
        .strict(),
    command: async (i, id, seal, at) => ({
      type: 'RecordReflection',
      id,
      occurredAt: when(i),
      text: i.text ? await seal('reflections', when(i), i.text) : null,
      measures: await seal('reflections', when(i), i.measures),
      measureCount: i.measures.length,
      at,
    }),
  }),
  outcomes: recordType({
    input: () => z.object({ occurredAt: isoDateTime, words: text(5000) }).strict(),
    command: async (i, id, seal, at) => ({
      type: 'RecordOutcome',
      id,
      occurredAt: when(i),
      words: await seal('outcomes', when(i), i.words),
      at,
    }),
  }),
  wellbeing: recordType({
    input: () =>
      z
        .object({ occurredAt: isoDateTime, items: z.array(z.number()).length(7, 'must be the 7 answers') })
        .strict(),
    command: async (i, id, seal, at) => {
      const { raw, metric } = scoreSwemwbs(i.items);
      return {
        type: 'RecordWellbeing',
        id,
        occurredAt: when(i),
        raw,
        metric,
        items: await seal('wellbeing', when(i), i.items),
        at,
      };
    },
  }),
} as const;

export type JourneyRecordPath = keyof typeof JOURNEY_RECORDS;
export const JOURNEY_RECORD_PATHS = Object.keys(JOURNEY_RECORDS) as JourneyRecordPath[];
export const newRecordId = () => randomUUID();
