import { CONTACT_KINDS, SUPPORT_KINDS } from '@app/domain';
import {
  FieldMap,
  FieldSpec,
  FormErrors,
  isoDateTimeFrom,
  numberFrom,
  optionalText,
  Posted,
  text,
} from '../shared/forms';

/**
 * The records of work a worker adds to a journey, each a form posted to the partner's
 * `POST /people/{ref}/journey/{path}`. One table, like the service's JOURNEY_RECORDS: the page, its fields and
 * the request it sends. The service decides what is valid; the form only turns typed text into the request.
 */
export interface RecordForm {
  /** The service's path under /journey/. */
  path: string;
  title: string;
  /** Where a problem's fields show: the request's field names -> the form's inputs. */
  fields: FieldMap;
  /** The request, from what was typed; errors only for what could not be read at all (a number that is not one). */
  request(body: Posted, now: Date, errors: FormErrors): Record<string, unknown>;
  /** What the template's questions need besides the posted values. */
  choices?: Record<string, { value: string; text: string }[]>;
  done: string;
}

const when: FieldSpec = { id: 'occurred-at', label: 'When' };
const spaced = (s: string) => s.charAt(0).toUpperCase() + s.slice(1).replaceAll('-', ' ');

function numberField(body: Posted, name: string, spec: FieldSpec, errors: FormErrors): number | undefined {
  const n = numberFrom(text(body, name));
  if (n !== undefined && Number.isNaN(n)) errors.add(spec, `${spec.label} must be a number`);
  return n;
}

const MEASURE_ROWS = 3;
const measureFields: FieldMap = Object.fromEntries(
  Array.from({ length: MEASURE_ROWS }, (_, i) => [
    [`measures.${i}`, { id: `measure-${i + 1}`, label: `Measure ${i + 1}` }],
    [`measures.${i}.measure`, { id: `measure-${i + 1}`, label: `Measure ${i + 1} name` }],
    [`measures.${i}.value`, { id: `measure-${i + 1}-value`, label: `Measure ${i + 1} score` }],
    [`measures.${i}.min`, { id: `measure-${i + 1}-min`, label: `Measure ${i + 1} lowest score` }],
    [`measures.${i}.max`, { id: `measure-${i + 1}-max`, label: `Measure ${i + 1} highest score` }],
  ]).flat(),
);

export const RECORD_FORMS: Record<string, RecordForm> = {
  contacts: {
    path: 'contacts',
    title: 'Record a contact',
    fields: {
      kind: { id: 'kind', label: 'Kind of contact' },
      occurredAt: when,
      durationMinutes: { id: 'duration', label: 'How long' },
      notes: { id: 'notes', label: 'Notes' },
    },
    choices: { kind: CONTACT_KINDS.map((k) => ({ value: k, text: spaced(k) })) },
    request: (b, now, errors) => ({
      kind: text(b, 'kind') || undefined,
      occurredAt: isoDateTimeFrom(text(b, 'occurredAt'), now),
      durationMinutes: numberField(b, 'durationMinutes', { id: 'duration', label: 'How long' }, errors),
      notes: optionalText(b, 'notes'),
    }),
    done: 'The contact is recorded.',
  },
  support: {
    path: 'support',
    title: 'Record support given',
    fields: {
      kind: { id: 'kind', label: 'Kind of support' },
      occurredAt: when,
      costPounds: { id: 'cost', label: 'Cost' },
      description: { id: 'description', label: 'What was done' },
    },
    choices: { kind: SUPPORT_KINDS.map((k) => ({ value: k, text: spaced(k) })) },
    request: (b, now, errors) => ({
      kind: text(b, 'kind') || undefined,
      occurredAt: isoDateTimeFrom(text(b, 'occurredAt'), now),
      costPounds: numberField(b, 'costPounds', { id: 'cost', label: 'Cost' }, errors),
      description: optionalText(b, 'description'),
    }),
    done: 'The support is recorded.',
  },
  reflections: {
    path: 'reflections',
    title: 'Record a reflection or soft measures',
    fields: { occurredAt: when, text: { id: 'text', label: 'Reflection' }, ...measureFields },
    request: (b, now, errors) => ({
      occurredAt: isoDateTimeFrom(text(b, 'occurredAt'), now),
      text: optionalText(b, 'text'),
      measures: Array.from({ length: MEASURE_ROWS }, (_, i) => i + 1)
        .filter((n) => ['measure', 'value', 'min', 'max'].some((k) => text(b, `measure${n}_${k}`)))
        .map((n) => ({
          measure: text(b, `measure${n}_measure`),
          value: numberField(b, `measure${n}_value`, measureFields[`measures.${n - 1}.value`], errors),
          min: numberField(b, `measure${n}_min`, measureFields[`measures.${n - 1}.min`], errors),
          max: numberField(b, `measure${n}_max`, measureFields[`measures.${n - 1}.max`], errors),
        })),
    }),
    done: 'The reflection is recorded.',
  },
  outcomes: {
    path: 'outcomes',
    title: 'Record an outcome',
    fields: { occurredAt: when, words: { id: 'words', label: 'The outcome' } },
    request: (b, now) => ({
      occurredAt: isoDateTimeFrom(text(b, 'occurredAt'), now),
      words: text(b, 'words'),
    }),
    done: 'The outcome is recorded.',
  },
};

export const MEASURE_ROW_NUMBERS = Array.from({ length: MEASURE_ROWS }, (_, i) => i + 1);
