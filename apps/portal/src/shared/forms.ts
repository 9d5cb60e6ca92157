import { ApiProblem, ApiResult, ServiceFailure } from './services';

/** A form field as the page shows it: the id its input has (the error summary links there) and its label. */
export interface FieldSpec {
  id: string;
  label: string;
}

/** Which form field each field of a service's request is: `contact.phone` -> the phone input. */
export type FieldMap = Record<string, FieldSpec>;

export interface SummaryItem {
  href?: string;
  text: string;
}

/**
 * Errors on a form, as the design system shows them: a summary at the top linking to each field, and the same
 * words beside the field itself.
 */
export class FormErrors {
  readonly summary: SummaryItem[] = [];
  readonly fields: Record<string, string> = {};

  /** An error on one field; the first one for a field wins, as only one message is shown beside it. */
  add(field: FieldSpec | null, text: string): this {
    if (field && this.fields[field.id]) return this;
    if (field) this.fields[field.id] = text;
    this.summary.push({ href: field ? `#${field.id}` : undefined, text });
    return this;
  }

  get any(): boolean {
    return this.summary.length > 0;
  }

  /**
   * A service's problem turned into the form's errors. Each `errors[]` entry goes to the form field it names
   * (or the nearest enclosing one: `measures.0.value` -> `measures`); what names no field of the form is shown
   * in the summary only, with the problem's detail when nothing more precise was said.
   */
  static fromProblem(problem: ApiProblem, fields: FieldMap): FormErrors {
    const errors = new FormErrors();
    for (const e of problem.errors) {
      const field = fieldFor(e.field, fields);
      errors.add(field, field ? withLabel(field.label, e.reason) : e.reason);
    }
    if (!errors.any) errors.add(null, problem.detail);
    return errors;
  }
}

/** "Name is required"; a reason that is a sentence of its own (zod's "Required") follows a colon. */
function withLabel(label: string, reason: string): string {
  return /^[A-Z]/.test(reason)
    ? `${label}: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}`
    : `${label} ${reason}`;
}

function fieldFor(apiField: string, fields: FieldMap): FieldSpec | null {
  const parts = apiField.split('.');
  for (let n = parts.length; n > 0; n--) {
    const spec = fields[parts.slice(0, n).join('.')];
    if (spec) return spec;
  }
  return null;
}

/** Statuses a form shows in its error summary (bad input, a conflict, something named that is not there). */
const FORM_STATUSES = [400, 404, 409, 422];

/**
 * A service's answer to a form: its body, or the form's errors. Anything a form cannot show (403, 410, the
 * service down) becomes its own error page.
 */
export function formResult<T>(
  result: ApiResult<T>,
  fields: FieldMap,
): { ok: true; body: T } | { ok: false; errors: FormErrors } {
  if (result.ok) return { ok: true, body: result.body };
  if (!FORM_STATUSES.includes(result.problem.status)) throw new ServiceFailure(result.problem);
  return { ok: false, errors: FormErrors.fromProblem(result.problem, fields) };
}

/** A form's posted fields: strings, or lists of strings where a field repeats (checkboxes). */
export type Posted = Record<string, string | string[] | undefined>;

export function text(posted: Posted, name: string): string {
  const v = posted[name];
  return (Array.isArray(v) ? (v[0] ?? '') : (v ?? '')).trim();
}

export function list(posted: Posted, name: string): string[] {
  const v = posted[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((s) => s.trim()).filter(Boolean);
}

/** Optional text: omitted from the request when empty, so that the service's defaults apply. */
export function optionalText(posted: Posted, name: string): string | undefined {
  return text(posted, name) || undefined;
}

/**
 * A date typed as day/month/year (as people in Scotland write it), for a service that takes YYYY-MM-DD. Only
 * the notation is checked here; whether the date is acceptable is the service's decision.
 */
export function isoDateFrom(typed: string): string | null {
  const m = /^(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{4})$/.exec(typed.trim());
  if (m) return `${m[3]}-${m[2].padStart(2, '0')}-${m[1].padStart(2, '0')}`;
  return /^\d{4}-\d{2}-\d{2}$/.test(typed.trim()) ? typed.trim() : null;
}

/** A number typed in a form; NaN stays NaN so the service names the field at fault. */
export function numberFrom(typed: string): number | undefined {
  if (typed === '') return undefined;
  return Number(typed.replace(/[£,\s]/g, ''));
}

/**
 * A date and time typed in a form (datetime-local gives YYYY-MM-DDTHH:MM), as the services take it, with the
 * offset of Scotland's clocks at that moment; empty means now.
 */
export function isoDateTimeFrom(typed: string, now: Date): string {
  if (!typed) return now.toISOString();
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})$/.exec(typed);
  if (!m) return typed;
  const asUtc = new Date(`${m[1]}T${m[2]}:00Z`);
  if (Number.isNaN(asUtc.getTime())) return typed;
  const offsetMinutes = londonOffsetMinutes(asUtc);
  return new Date(asUtc.getTime() - offsetMinutes * 60_000).toISOString();
}

function londonOffsetMinutes(at: Date): number {
  const name = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', timeZoneName: 'shortOffset' })
    .formatToParts(at)
    .find((p) => p.type === 'timeZoneName')?.value;
  const m = /GMT([+-]\d+)?/.exec(name ?? '');
  return m?.[1] ? Number(m[1]) * 60 : 0;
}
