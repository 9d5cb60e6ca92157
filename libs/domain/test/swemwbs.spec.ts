import { DomainError } from '../src/shared/domain-error';
import { SWEMWBS_ITEMS, SWEMWBS_METRIC, scoreSwemwbs, wellbeingChange } from '../src/wellbeing/swemwbs';

/** The refusal thrown by `fn`, so its kind, field and message can all be checked. */
const refusal = (fn: () => unknown): DomainError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('expected a DomainError, nothing was thrown');
};

describe('SWEMWBS conversion table', () => {
  it('has one metric score for every raw score from 7 to 35, and nothing else', () => {
    expect(SWEMWBS_ITEMS).toBe(7);
    expect(
      Object.keys(SWEMWBS_METRIC)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 29 }, (_, i) => i + 7));
  });

  it('rises strictly with the raw score (a typo would usually break this)', () => {
    for (let raw = 8; raw <= 35; raw++) {
      expect(SWEMWBS_METRIC[raw]).toBeGreaterThan(SWEMWBS_METRIC[raw - 1]);
    }
  });

  it('cannot be altered at run time', () => {
    expect(Object.isFrozen(SWEMWBS_METRIC)).toBe(true);
  });
});

describe('scoreSwemwbs', () => {
  it('all 1s → raw 7, metric 7.00', () => {
    expect(scoreSwemwbs([1, 1, 1, 1, 1, 1, 1])).toEqual({ raw: 7, metric: 7.0 });
  });

  it('all 5s → raw 35, metric 35.00', () => {
    expect(scoreSwemwbs([5, 5, 5, 5, 5, 5, 5])).toEqual({ raw: 35, metric: 35.0 });
  });

  it.each([
    [[2, 1, 1, 1, 1, 1, 1], 8, 9.51],
    [[2, 2, 2, 1, 1, 1, 1], 10, 12.4],
    [[3, 3, 3, 3, 3, 3, 3], 21, 19.25],
    [[4, 4, 4, 4, 3, 2, 2], 23, 20.73],
    [[5, 4, 4, 4, 4, 4, 4], 29, 26.02],
    [[5, 5, 5, 5, 5, 5, 4], 34, 32.55],
  ])('%j → raw %i, metric %d', (items, raw, metric) => {
    expect(scoreSwemwbs(items)).toEqual({ raw, metric });
  });

  it('does not depend on which statement got which answer', () => {
    expect(scoreSwemwbs([1, 5, 3, 2, 4, 3, 3])).toEqual(scoreSwemwbs([3, 3, 3, 3, 3, 3, 3]));
  });

  it.each([
    ['6 answers', [3, 3, 3, 3, 3, 3]],
    ['8 answers', [3, 3, 3, 3, 3, 3, 3, 3]],
    ['no answers', []],
  ])('refuses %s', (_, items) => {
    const e = refusal(() => scoreSwemwbs(items));
    expect(e.kind).toBe('invalid');
    expect(e.field).toBe('items');
    expect(e.message).toContain('exactly 7 answers');
    expect(e.message).toContain('each of the 7 answers must be a whole number from 1 to 5');
  });

  it('refuses something that is not a list of answers', () => {
    const e = refusal(() => scoreSwemwbs(null as unknown as number[]));
    expect(e.field).toBe('items');
  });

  it.each([
    ['0', 0],
    ['6', 6],
    ['2.5', 2.5],
    ['NaN', Number.NaN],
    ['-1', -1],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['the text "3"', '3' as unknown as number],
  ])('refuses an answer of %s, naming which answer but not echoing it', (_, bad) => {
    const e = refusal(() => scoreSwemwbs([3, 3, 3, bad, 3, 3, 3]));
    expect(e.kind).toBe('invalid');
    expect(e.field).toBe('items');
    expect(e.message).toBe('answer 4 is not valid: each of the 7 answers must be a whole number from 1 to 5');
  });
});

describe('wellbeingChange', () => {
  const at = (day: number) => `2026-0${day}-01T09:00:00.000Z`;

  it('is null with no measurement or with only one', () => {
    expect(wellbeingChange([], 3)).toBeNull();
    expect(wellbeingChange([{ at: at(1), metric: 19.25 }], 3)).toBeNull();
  });

  it('orders unordered measurements by date: first is the earliest, latest the most recent', () => {
    const result = wellbeingChange(
      [
        { at: at(5), metric: 23.21 },
        { at: at(1), metric: 17.43 },
        { at: at(3), metric: 35.0 },
      ],
      3,
    );
    expect(result).toEqual({ first: 17.43, latest: 23.21, change: 5.78, meaningful: true });
  });

  it('orders by instant, not by text, when timestamps carry different offsets', () => {
    const result = wellbeingChange(
      [
        { at: '2026-03-01T09:00:00+02:00', metric: 21.54 }, // 07:00Z: later
        { at: '2026-03-01T08:00:00Z', metric: 18.59 }, // 08:00Z: actually the latest
        { at: '2026-03-01T06:30:00Z', metric: 14.08 }, // earliest
      ],
      3,
    );
    expect(result).toEqual({ first: 14.08, latest: 18.59, change: 4.51, meaningful: true });
  });

  it('below the threshold: not meaningful, and free of floating-point noise', () => {
    // 19.25 - 16.36 is 2.8900000000000006 in floating point.
    expect(
      wellbeingChange(
        [
          { at: at(1), metric: 16.36 },
          { at: at(2), metric: 19.25 },
        ],
        3,
      ),
    ).toEqual({ first: 16.36, latest: 19.25, change: 2.89, meaningful: false });
  });

  it('exactly at the threshold: meaningful', () => {
    expect(
      wellbeingChange(
        [
          { at: at(1), metric: 20.0 },
          { at: at(2), metric: 23.0 },
        ],
        3,
      ),
    ).toEqual({ first: 20, latest: 23, change: 3, meaningful: true });
  });

  it('exactly at the threshold with table values whose float difference falls just short: still meaningful', () => {
    // 16.88 - 9.51 is 7.369999999999999 in floating point.
    expect(
      wellbeingChange(
        [
          { at: at(1), metric: 9.51 },
          { at: at(2), metric: 16.88 },
        ],
        7.37,
      ),
    ).toEqual({ first: 9.51, latest: 16.88, change: 7.37, meaningful: true });
  });

  it('above the threshold: meaningful', () => {
    expect(
      wellbeingChange(
        [
          { at: at(2), metric: 24.11 },
          { at: at(1), metric: 19.98 },
        ],
        3,
      ),
    ).toEqual({ first: 19.98, latest: 24.11, change: 4.13, meaningful: true });
  });

  it('a decrease of at least the threshold is meaningful too, with a negative change', () => {
    expect(
      wellbeingChange(
        [
          { at: at(4), metric: 17.98 },
          { at: at(1), metric: 22.35 },
        ],
        3,
      ),
    ).toEqual({ first: 22.35, latest: 17.98, change: -4.37, meaningful: true });
  });

  it('a small decrease is not meaningful', () => {
    expect(
      wellbeingChange(
        [
          { at: at(1), metric: 22.35 },
          { at: at(2), metric: 21.54 },
        ],
        3,
      ),
    ).toEqual({ first: 22.35, latest: 21.54, change: -0.81, meaningful: false });
  });

  it('uses the threshold it is given, not a built-in one', () => {
    const pair = [
      { at: at(1), metric: 19.25 },
      { at: at(2), metric: 20.73 },
    ];
    expect(wellbeingChange(pair, 1)?.meaningful).toBe(true);
    expect(wellbeingChange(pair, 3)?.meaningful).toBe(false);
  });

  it('no change is reported as 0, not -0', () => {
    expect(
      wellbeingChange(
        [
          { at: at(1), metric: 21.54 },
          { at: at(2), metric: 21.54 },
        ],
        3,
      ),
    ).toEqual({ first: 21.54, latest: 21.54, change: 0, meaningful: false });
  });

  it('does not reorder the caller’s array', () => {
    const measurements = [
      { at: at(2), metric: 20 },
      { at: at(1), metric: 18 },
    ];
    wellbeingChange(measurements, 3);
    expect(measurements.map((m) => m.at)).toEqual([at(2), at(1)]);
  });

  it('refuses a measurement without a usable date', () => {
    const e = refusal(() =>
      wellbeingChange(
        [
          { at: at(1), metric: 20 },
          { at: 'last Tuesday', metric: 22 },
        ],
        3,
      ),
    );
    expect(e.kind).toBe('invalid');
    expect(e.field).toBe('measurements');
  });

  it.each([0, -3, Number.NaN])('treats a threshold of %d as a configuration fault', (threshold) => {
    expect(() => wellbeingChange([], threshold)).toThrow(RangeError);
  });
});
