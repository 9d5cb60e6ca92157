import { DomainError } from '../shared/domain-error';

/**
 * Short Warwick-Edinburgh Mental Wellbeing Scale (SWEMWBS) scoring.
 *
 * "Short Warwick Edinburgh Mental Wellbeing Scale (SWEMWBS) © NHS Health Scotland, University of Warwick and
 * University of Edinburgh, 2008, all rights reserved."
 *
 * Why there is no item wording here: the scale may only be used after registering with its publishers, so the
 * wording is licensed to the consortium and lives in its own configuration. This module sees seven numbers and
 * nothing else; it never needs to know what was asked.
 */

/** Why a constant: the scale is validated as exactly seven items; a form with more or fewer is not SWEMWBS. */
export const SWEMWBS_ITEMS = 7;

/** Each answer runs from "none of the time" (1) to "all of the time" (5). */
export const SWEMWBS_ITEM_MIN = 1;
export const SWEMWBS_ITEM_MAX = 5;

/**
 * Raw score (sum of the seven answers, 7..35) → metric score.
 *
 * Why a table and not the raw sum: SWEMWBS was resolved with Rasch modelling (Stewart-Brown et al. 2009,
 * Health and Quality of Life Outcomes 7:15, doi:10.1186/1477-7525-7-15). The raw sum is ordinal; the
 * publishers require it to be converted with their table so that scores are on an interval scale and
 * comparable with every other study and service using SWEMWBS. Means, differences and change over time are
 * only meaningful on the metric score.
 *
 * Source: the SWEMWBS raw-to-metric conversion table published by the scale's developers at Warwick Medical
 * School, University of Warwick, with their scoring guidance
 * (https://warwick.ac.uk/fac/med/research/platform/wemwbs/researchers/guidance/ ; also in the user guides on
 * the WEMWBS site's resources pages for registered users). Values cross-checked against several independent
 * public transcriptions of that table; if the publishers ever revise it, this table must follow.
 */
export const SWEMWBS_METRIC: Readonly<Record<number, number>> = Object.freeze({
  7: 7.0,
  8: 9.51,
  9: 11.25,
  10: 12.4,
  11: 13.33,
  12: 14.08,
  13: 14.75,
  14: 15.32,
  15: 15.84,
  16: 16.36,
  17: 16.88,
  18: 17.43,
  19: 17.98,
  20: 18.59,
  21: 19.25,
  22: 19.98,
  23: 20.73,
  24: 21.54,
  25: 22.35,
  26: 23.21,
  27: 24.11,
  28: 25.03,
  29: 26.02,
  30: 27.03,
  31: 28.13,
  32: 29.31,
  33: 30.7,
  34: 32.55,
  35: 35.0,
});

const ANSWERS_RULE = `each of the ${SWEMWBS_ITEMS} answers must be a whole number from ${SWEMWBS_ITEM_MIN} to ${SWEMWBS_ITEM_MAX}`;

/**
 * Scores one completed SWEMWBS.
 *
 * Why it refuses rather than pro-rating: the conversion table is only valid for a complete set of seven answers,
 * so a missing or out-of-range answer has to be put right by the worker, not guessed.
 * Why the messages name the position but never the value: answers are health data and refusals end up in logs.
 */
export function scoreSwemwbs(items: readonly number[]): { raw: number; metric: number } {
  if (!Array.isArray(items) || items.length !== SWEMWBS_ITEMS) {
    const got = Array.isArray(items) ? `${items.length}` : 'none';
    throw new DomainError(
      'invalid',
      `SWEMWBS needs exactly ${SWEMWBS_ITEMS} answers, one for each statement (got ${got}); ${ANSWERS_RULE}`,
      'items',
    );
  }
  const bad = items.findIndex(
    (item) => !Number.isInteger(item) || item < SWEMWBS_ITEM_MIN || item > SWEMWBS_ITEM_MAX,
  );
  if (bad !== -1) {
    throw new DomainError('invalid', `answer ${bad + 1} is not valid: ${ANSWERS_RULE}`, 'items');
  }
  const raw = items.reduce((sum, item) => sum + item, 0);
  return { raw, metric: SWEMWBS_METRIC[raw] };
}

/**
 * Change in one person's wellbeing between their first and latest SWEMWBS, on the metric score.
 *
 * `threshold` is the smallest change, in metric points, that counts as meaningful for one person; it comes from
 * the consortium's configuration, not from here, because the right standard is a judgement for the consortium.
 * For reference: in the first published study of SWEMWBS's responsiveness to change, a change of between 1 and
 * 3 metric points met the thresholds for a statistically important change in one individual, depending on the
 * standard used; the stricter standard (2.77 × standard error of measurement) was 2.87 points. Rounded up, that
 * is the commonly used individual-level threshold of a change of 3 or more metric points. (Shah et al. 2018,
 * "Responsiveness of the Short Warwick Edinburgh Mental Well-Being Scale (SWEMWBS): evaluation a clinical
 * sample", Health and Quality of Life Outcomes 16:239, doi:10.1186/s12955-018-1060-2.)
 *
 * Returns null with fewer than two measurements: one score says nothing about change.
 * Measurements may arrive in any order (e.g. from several partners' streams), so they are ordered by `at`;
 * two at the same instant keep the order they were given in.
 */
export function wellbeingChange(
  measurements: readonly { at: string; metric: number }[],
  threshold: number,
): { first: number; latest: number; change: number; meaningful: boolean } | null {
  // A mis-set threshold is a configuration fault, not something a worker can fix: hence not a DomainError.
  if (!Number.isFinite(threshold) || threshold <= 0) {
    throw new RangeError('the wellbeing change threshold must be a positive number of metric points');
  }
  if (measurements.length < 2) return null;

  const timed = measurements.map((m, i) => {
    const when = Date.parse(m.at);
    if (Number.isNaN(when) || !Number.isFinite(m.metric)) {
      throw new DomainError(
        'invalid',
        `wellbeing measurement ${i + 1} needs a valid date and a metric score`,
        'measurements',
      );
    }
    return { when, metric: m.metric };
  });
  // Date.parse, not string comparison: timestamps written with different offsets still order correctly.
  timed.sort((a, b) => a.when - b.when);

  const first = timed[0].metric;
  const latest = timed[timed.length - 1].metric;
  // Metric scores have two decimals; rounding keeps floating-point noise (e.g. 2.8900000000000006) out of the
  // result and out of the threshold comparison.
  // `|| 0` turns a rounded -0 into 0.
  const change = Math.round((latest - first) * 100) / 100 || 0;
  return { first, latest, change, meaningful: Math.abs(change) >= threshold };
}
