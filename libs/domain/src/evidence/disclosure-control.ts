import { refuse } from '../shared/domain-error';

/**
 * Disclosure control for two-way tables of counts in statutory evidence packs (DESIGN.md decision 6: statutory
 * outputs carry aggregates only; counts of 1–9 are suppressed, and complementary suppression stops the totals from
 * giving them away). Pure: no clock, no I/O.
 *
 * ## The model
 *
 * A table of R rows × C columns is handled as its "extended" (R+1) × (C+1) grid: the cells, a column of row totals,
 * a row of column totals and the grand total in the corner. Every entry of that grid (a cell or a total) is either
 * published or suppressed (`null`, rendered "*" or "c"). Every row and every column of the extended grid is one
 * equation (the cells add up to the total; the row totals add up to the grand total; …), so a line of the grid is
 * exactly what an attacker can subtract along.
 *
 * ## What `applyDisclosureControl` does
 *
 * 1. Primary suppression: every entry, cells and totals alike, with `1 <= count < minimum` (and 0 too when
 *    `suppressZeros`).
 * 2. The standard iterative heuristic: while some line of the extended grid holds exactly one suppressed entry,
 *    suppress one more entry of that line: the smallest non-zero cell, preferring a cell whose crossing line already
 *    holds a suppression (so that the choice closes a loop instead of starting a cascade); the line's own total only
 *    when no non-zero cell is left; a zero only when nothing else is. Ties: first in the line.
 * 3. A protection pass that makes the result safe against any attacker, not only against subtraction line by line:
 *    every suppressed entry must lie on a loop of suppressed entries (alternately in a row and a column) along which
 *    the table can be changed by ±1 without any count going negative. Where an entry is not on such a loop (the
 *    heuristic leaves cases: two blocks of suppressions joined by a single cell, or a loop through a zero), the
 *    cheapest loop is completed: fewest totals first (grand total last of all), then fewest cells, then zeros, then
 *    the smallest counts.
 * 4. Earlier packs (see below): the same protection, with loops that also respect what earlier packs published, and
 *    then an audit by the attacker `recoverAcrossPacks`, extending suppression until it recovers nothing.
 *
 * ## What it guarantees
 *
 * - No published entry (cell or total) is in `1..minimum-1` (nor 0 with `suppressZeros`), published cells are the
 *   input's counts, and published totals are the true sums.
 * - For one table on its own: for every suppressed entry there is another table of non-negative whole counts that
 *   agrees with everything published and differs in that entry (the loop of step 3 shifted by one). So no reasoning
 *   whatsoever from the published table (subtraction, linear algebra over all lines at once, or bounds from counts
 *   never being negative) can pin a suppressed entry to one value. `isRecoverable` is such a complete attacker for a
 *   single table and finds nothing in an output of this function.
 * - With earlier packs of the same table (same row and column labels, in any order) that are cumulative (counts to
 *   date, so no count falls between packs): for every entry suppressed now there is a table that agrees with
 *   everything this pack publishes, is nowhere below the earlier packs' true counts, and differs in that entry. That
 *   table and the true earlier ones are consistent with every pack's published figures and with counts only growing,
 *   so an attacker who holds all the packs, and even one who knew every earlier count exactly, cannot pin any entry
 *   suppressed now, whatever reasoning is used. (The rule behind it: in step 3's loops an entry may be lowered only
 *   if its count now is above the most an earlier pack can have held there: the value it published, or, for an
 *   entry it suppressed, the largest value of any table that fits its published figures and nowhere exceeds the
 *   counts now; otherwise the entry may only be raised. Where that leaves no loop of cells, totals are suppressed:
 *   when the only change since the last pack is in one cell, the differences of the published totals reveal it,
 *   and they must go.)
 * - Entries an earlier pack suppressed: the audit runs `recoverAcrossPacks` (iterated exact single-table inference on
 *   the earlier pack, this pack and their difference, with the bounds each places on the others) and suppresses more
 *   of this pack until it recovers nothing from the earlier packs that it could not recover from them alone.
 *
 * ## What it does not guarantee
 *
 * - Exact recovery is prevented; narrow ranges are not. A suppressed 3 whose row has one other suppressed cell of
 *   12 is known to lie in 0..15; there is no minimum width of protection interval (as tau-ARGUS can impose).
 * - `suppressed[].why` says which entries are primary. Do not publish it: an attacker who knows that an entry is
 *   primary knows it is at most `minimum - 1`, and the guarantees above assume they do not.
 * - Increments between packs are not themselves disclosure-controlled: if two packs both publish a cell, its
 *   increase (perhaps 2 people this quarter) is public. If period counts are sensitive, publish a period table and
 *   control it in its own right.
 * - Earlier packs are compared only when they have the same rows and columns; others are listed in
 *   `earlierPacksNotCompared` and ignored (a partner joining changes what every total covers). An earlier pack
 *   whose published figures exceed the counts now is not cumulative: the cumulative guarantee does not apply to it,
 *   though the audit still runs against it. Relations between earlier packs themselves are not used, and other
 *   published tables (another breakdown of the same people, a period table) are not considered: differencing across
 *   different tables is the pack builder's concern.
 * - Entries an earlier pack suppressed are protected only against the audit's attacker, which is strong but is not
 *   a complete joint integer programme; the true earlier counts are not available here to prove more.
 */

/** Counts from 1 to `minimum - 1` are suppressed: the safe default of DESIGN.md decision 6. */
export const DEFAULT_DISCLOSURE_MINIMUM = 10;

/** A two-way table of counts: `cells[r][c]` is the count for `rows[r]` × `columns[c]`. */
export interface CountTable {
  readonly rows: readonly string[];
  readonly columns: readonly string[];
  readonly cells: readonly (readonly number[])[];
}

/** A table as published: `null` is a suppressed entry. */
export interface PublishedTable {
  readonly rows: readonly string[];
  readonly columns: readonly string[];
  readonly cells: readonly (readonly (number | null)[])[];
  readonly rowTotals: readonly (number | null)[];
  readonly columnTotals: readonly (number | null)[];
  readonly grandTotal: number | null;
}

/** An index into `rows` or `columns`, or `'total'` for the totals row or column (both `'total'`: the grand total). */
export type Position = number | 'total';

export interface Suppression {
  readonly row: Position;
  readonly column: Position;
  /** `primary`: the entry is itself a small count. `secondary`: suppressed to protect others. Not for publication. */
  readonly why: 'primary' | 'secondary';
  /** Present on a secondary suppression that earlier packs made necessary (this table alone would not need it). */
  readonly becauseOfEarlierPacks?: true;
}

export interface EarlierPackNotCompared {
  /** Index into `previouslyPublished`. */
  readonly index: number;
  readonly reason: 'different-rows-or-columns' | 'not-cumulative';
}

export interface DisclosureControlledTable extends PublishedTable {
  readonly rows: string[];
  readonly columns: string[];
  readonly cells: (number | null)[][];
  readonly rowTotals: (number | null)[];
  readonly columnTotals: (number | null)[];
  readonly grandTotal: number | null;
  /** Every suppressed entry, row by row, totals last: for the audit trail, not for the pack. */
  readonly suppressed: Suppression[];
  readonly earlierPacksNotCompared: EarlierPackNotCompared[];
}

export interface DisclosureOptions {
  /** Counts from 1 to `minimum - 1` are suppressed; 0 is not (unless `suppressZeros`). Default 10. */
  readonly minimum?: number;
  /** Suppress zeros as well (where "none" would itself disclose). Default false. */
  readonly suppressZeros?: boolean;
  /** Earlier packs' published versions of this same table. */
  readonly previouslyPublished?: readonly PublishedTable[];
}

/** A suppressed entry that an attacker has pinned to one value. */
export interface RecoveredEntry {
  readonly row: Position;
  readonly column: Position;
  readonly value: number;
}

/** What an attacker recovers from one pack together with earlier ones (positions in each table's own order). */
export interface Recovery {
  readonly later: RecoveredEntry[];
  /** Per earlier pack; empty for a pack with other rows or columns, which the attacker cannot line up. */
  readonly earlier: RecoveredEntry[][];
}

/**
 * Suppresses small counts in a two-way table and enough others that none of them can be worked out from what is
 * published (see the module comment above for the exact rule, what it guarantees and what it does not).
 *
 * Refuses (`DomainError`, kind `invalid`) a table that is not R × C non-negative whole counts with at least one row
 * and one column and distinct labels, a `minimum` that is not a whole number of at least 1, and a malformed or
 * self-contradictory earlier pack.
 */
export function applyDisclosureControl(
  table: CountTable,
  options: DisclosureOptions = {},
): DisclosureControlledTable {
  const minimum = options.minimum ?? DEFAULT_DISCLOSURE_MINIMUM;
  if (!Number.isSafeInteger(minimum) || minimum < 1) {
    refuse('invalid', `minimum must be a whole number of at least 1, not ${String(minimum)}`, 'minimum');
  }
  const shape = checkCountTable(table);
  const values = extendedValues(shape, table.cells);
  const n = values.length;
  const lowest = options.suppressZeros ? 0 : 1;
  const primary = values.map((v) => v >= lowest && v < minimum);
  const suppressed = [...primary];
  const order = [...indices(n).filter((k) => primary[k]), ...indices(n).filter((k) => !primary[k])];

  complementLoneLines(shape, values, suppressed);
  protect(shape, values, suppressed, new Array<number>(n).fill(0), order);
  const alone = [...suppressed];

  const notCompared: EarlierPackNotCompared[] = [];
  const packs: Known[] = [];
  const cumulative: Known[] = [];
  (options.previouslyPublished ?? []).forEach((earlier, index) => {
    const field = `previouslyPublished[${index}]`;
    checkPublished(earlier, field);
    const aligned = align(earlier, table.rows, table.columns);
    if (!aligned) {
      notCompared.push({ index, reason: 'different-rows-or-columns' });
      return;
    }
    if (!attack(shape, aligned.known, zeros(n), infinities(n))) {
      refuse('invalid', `${field}: its published figures contradict each other`, field);
    }
    packs.push(aligned.known);
    // Cumulative: some table fits what it published and nowhere exceeds the counts now.
    const fits = aligned.known.every((v, k) => v === null || v <= values[k]);
    if (fits && completion(shape, aligned.known, zeros(n), values)) cumulative.push(aligned.known);
    else notCompared.push({ index, reason: 'not-cumulative' });
  });

  if (packs.length > 0) {
    // The most any cumulative earlier pack can have held in each entry: below it, an entry may not be lowered.
    const floor = indices(n).map((k) =>
      Math.max(0, ...cumulative.map((known) => mostItCanHaveHeld(shape, known, values, k))),
    );
    protect(shape, values, suppressed, floor, order);
    const baseline = packs.map((known) => attack(shape, known, zeros(n), infinities(n)) ?? new Map());
    for (;;) {
      const published: Known = values.map((v, k) => (suppressed[k] ? null : v));
      const found = inferAll(shape, published, packs);
      const leaks = new Set<number>();
      for (let k = 0; k < n; k++) {
        if (suppressed[k] && found.later[k] === values[k]) leaks.add(k);
      }
      packs.forEach((known, p) => {
        const after = found.earlier[p];
        if (!after) return;
        for (let k = 0; k < n; k++) {
          if (known[k] === null && after[k] !== null && !baseline[p].has(k)) leaks.add(k);
        }
      });
      if (leaks.size === 0) break;
      let added = false;
      for (const k of leaks) {
        const target = suppressed[k] ? cheapestPublishedNear(shape, values, suppressed, k) : k;
        if (target !== undefined && !suppressed[target]) {
          suppressed[target] = true;
          added = true;
        }
      }
      if (!added) throw new Error('disclosure control: the audit found a leak that no suppression can close');
      protect(shape, values, suppressed, floor, order);
    }
  }

  const { R, C } = shape;
  const shown = (k: number): number | null => (suppressed[k] ? null : values[k]);
  return {
    rows: [...table.rows],
    columns: [...table.columns],
    cells: indices(R).map((i) => indices(C).map((j) => shown(at(shape, i, j)))),
    rowTotals: indices(R).map((i) => shown(at(shape, i, C))),
    columnTotals: indices(C).map((j) => shown(at(shape, R, j))),
    grandTotal: shown(at(shape, R, C)),
    suppressed: indices(n)
      .filter((k) => suppressed[k])
      .map((k) => ({
        row: position(rowOf(shape, k), R),
        column: position(colOf(shape, k), C),
        why: primary[k] ? 'primary' : 'secondary',
        ...(alone[k] ? {} : { becauseOfEarlierPacks: true as const }),
      })),
    earlierPacksNotCompared: notCompared,
  };
}

/**
 * The attacker: every suppressed entry of `published` that can be pinned to a single value from what is published,
 * knowing that counts are non-negative whole numbers. Empty means nothing can be recovered.
 *
 * For one table this is complete, not a heuristic: it subsumes solving any line with one unknown (iterated), linear
 * algebra over all lines at once, and bounds from non-negativity. (It finds one completion of the table by a flow
 * computation; an entry is pinned exactly when no loop of suppressed entries through it can be shifted by one
 * without a count going negative.)
 *
 * With `earlier` packs of the same table, it also assumes what an attacker holding them would: that the table is
 * cumulative (see `recoverAcrossPacks`), and returns what it recovers of `published`.
 */
export function isRecoverable(
  published: PublishedTable,
  earlier: readonly PublishedTable[] = [],
): RecoveredEntry[] {
  return recoverAcrossPacks(earlier, published).later;
}

/**
 * The attacker across packs: `later` together with `earlier` packs of the same table (matched by row and column
 * labels), assuming the table is cumulative (no count falls between packs). It iterates, until nothing more is
 * learnt, complete single-table inference on the later pack (each count at least what any earlier pack is known to
 * have held), on each earlier pack (at most what the later pack is known to hold) and on each difference table
 * (later minus earlier: where both are known, the difference is published; it is never negative), carrying what
 * each learns into the others. If the packs together contradict the cumulative assumption, each is tried with the
 * later pack alone, and one that contradicts it even so is not used (the attacker would see that it does not apply).
 *
 * It is strong but not a complete joint integer programme over all the packs at once.
 */
export function recoverAcrossPacks(earlier: readonly PublishedTable[], later: PublishedTable): Recovery {
  const shape = checkPublished(later, 'later');
  const n = size(shape);
  const laterKnown = knownOf(shape, later);
  if (!attack(shape, laterKnown, zeros(n), infinities(n))) {
    refuse('invalid', 'the published figures contradict each other', 'later');
  }
  const aligned = earlier.map((p, index) => {
    const field = `earlier[${index}]`;
    checkPublished(p, field);
    const a = align(p, later.rows, later.columns);
    if (a && !attack(shape, a.known, zeros(n), infinities(n))) {
      refuse('invalid', `${field}: its published figures contradict each other`, field);
    }
    return a;
  });
  const usable = aligned.filter((a): a is Aligned => a !== undefined);
  const found = inferAll(
    shape,
    laterKnown,
    usable.map((a) => a.known),
  );
  const { R, C } = shape;
  const recovered = (known: Known, after: Known, rowFrom: number[], colFrom: number[]): RecoveredEntry[] =>
    indices(n)
      .filter((k) => known[k] === null && after[k] !== null)
      .map((k) => {
        const i = rowOf(shape, k);
        const j = colOf(shape, k);
        return {
          row: i === R ? 'total' : rowFrom[i],
          column: j === C ? 'total' : colFrom[j],
          value: after[k] as number,
        };
      });
  let u = 0;
  return {
    later: recovered(laterKnown, found.later, indices(R), indices(C)),
    earlier: aligned.map((a) => {
      if (!a) return [];
      const after = found.earlier[u++];
      return after ? recovered(a.known, after, a.rowFrom, a.colFrom) : [];
    }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The extended grid. Entry k sits at row i = rowOf(k) (R: the column totals) and column j = colOf(k) (C: the row
// totals). As a flow network: a vertex per row (0..R) and per column (R+1..R+C+1); an entry is an arc whose flow is
// its count, from its row to its column for a cell or the grand total, from its column to its row for a margin
// total. Every line's equation is then conservation of flow at its vertex, and raising an entry by one is pushing
// one unit along its arc.

interface Shape {
  readonly R: number;
  readonly C: number;
}

type Known = (number | null)[];

const indices = (n: number): number[] => Array.from({ length: n }, (_, k) => k);
const zeros = (n: number): number[] => new Array<number>(n).fill(0);
const infinities = (n: number): number[] => new Array<number>(n).fill(Number.POSITIVE_INFINITY);
const size = (s: Shape): number => (s.R + 1) * (s.C + 1);
const at = (s: Shape, i: number, j: number): number => i * (s.C + 1) + j;
const rowOf = (s: Shape, k: number): number => Math.floor(k / (s.C + 1));
const colOf = (s: Shape, k: number): number => k % (s.C + 1);
const position = (index: number, last: number): Position => (index === last ? 'total' : index);
/** +1 for a cell and the grand total, -1 for a row or column total: each line's signed entries add up to 0. */
const sign = (s: Shape, k: number): number => (rowOf(s, k) < s.R === colOf(s, k) < s.C ? 1 : -1);
/** The arc along which entry k's count rises: [from, to]. */
const arcOf = (s: Shape, k: number): [number, number] => {
  const rowVertex = rowOf(s, k);
  const colVertex = s.R + 1 + colOf(s, k);
  return sign(s, k) > 0 ? [rowVertex, colVertex] : [colVertex, rowVertex];
};
/** The rows of the extended grid, then its columns; each line's last entry is its total. */
const linesOf = (s: Shape): number[][] => [
  ...indices(s.R + 1).map((i) => indices(s.C + 1).map((j) => at(s, i, j))),
  ...indices(s.C + 1).map((j) => indices(s.R + 1).map((i) => at(s, i, j))),
];

function extendedValues(s: Shape, cells: readonly (readonly number[])[]): number[] {
  const values = zeros(size(s));
  for (let i = 0; i < s.R; i++) {
    for (let j = 0; j < s.C; j++) {
      const v = cells[i][j];
      values[at(s, i, j)] = v;
      values[at(s, i, s.C)] += v;
      values[at(s, s.R, j)] += v;
      values[at(s, s.R, s.C)] += v;
    }
  }
  return values;
}

function knownOf(s: Shape, p: PublishedTable): Known {
  const known: Known = new Array<number | null>(size(s)).fill(null);
  for (let i = 0; i < s.R; i++) {
    for (let j = 0; j < s.C; j++) known[at(s, i, j)] = p.cells[i][j];
    known[at(s, i, s.C)] = p.rowTotals[i];
  }
  for (let j = 0; j < s.C; j++) known[at(s, s.R, j)] = p.columnTotals[j];
  known[at(s, s.R, s.C)] = p.grandTotal;
  return known;
}

interface Aligned {
  readonly known: Known;
  /** For each row (column) of the target order, its index in the earlier table. */
  readonly rowFrom: number[];
  readonly colFrom: number[];
}

/** An earlier table's entries in the order of `rows` × `columns`; undefined if its labels are not the same sets. */
function align(p: PublishedTable, rows: readonly string[], columns: readonly string[]): Aligned | undefined {
  if (p.rows.length !== rows.length || p.columns.length !== columns.length) return undefined;
  const rowFrom = rows.map((r) => p.rows.indexOf(r));
  const colFrom = columns.map((c) => p.columns.indexOf(c));
  if (rowFrom.includes(-1) || colFrom.includes(-1)) return undefined;
  const s = { R: rows.length, C: columns.length };
  const source = knownOf(s, p);
  const known: Known = indices(size(s)).map((k) => {
    const i = rowOf(s, k);
    const j = colOf(s, k);
    return source[at(s, i === s.R ? s.R : rowFrom[i], j === s.C ? s.C : colFrom[j])];
  });
  return { known, rowFrom, colFrom };
}

// ---------------------------------------------------------------------------------------------------------------
// Validation.

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function checkLabels(labels: unknown, field: string): number {
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) {
    return refuse('invalid', `${field} must be a list of labels`, field);
  }
  if (labels.length === 0) return refuse('invalid', `${field} must not be empty`, field);
  if (new Set(labels).size !== labels.length) {
    return refuse('invalid', `${field} must not repeat a label`, field);
  }
  return labels.length;
}

function checkCountTable(table: CountTable): Shape {
  const R = checkLabels(table.rows, 'rows');
  const C = checkLabels(table.columns, 'columns');
  if (!Array.isArray(table.cells) || table.cells.length !== R) {
    refuse('invalid', `cells must have one row for each of the ${R} rows`, 'cells');
  }
  table.cells.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== C) {
      refuse('invalid', `cells[${i}] must have one count for each of the ${C} columns`, 'cells');
    }
    row.forEach((v, j) => {
      if (!isCount(v)) refuse('invalid', `cells[${i}][${j}] must be a non-negative whole number`, 'cells');
    });
  });
  return { R, C };
}

function checkPublished(p: PublishedTable, field: string): Shape {
  const R = checkLabels(p?.rows, `${field}.rows`);
  const C = checkLabels(p.columns, `${field}.columns`);
  const entry = (v: unknown): boolean => v === null || isCount(v);
  const ok =
    Array.isArray(p.cells) &&
    p.cells.length === R &&
    p.cells.every((row) => Array.isArray(row) && row.length === C && row.every(entry)) &&
    Array.isArray(p.rowTotals) &&
    p.rowTotals.length === R &&
    p.rowTotals.every(entry) &&
    Array.isArray(p.columnTotals) &&
    p.columnTotals.length === C &&
    p.columnTotals.every(entry) &&
    entry(p.grandTotal);
  if (!ok) {
    refuse('invalid', `${field} must have R × C cells and R + C + 1 totals, each a count or null`, field);
  }
  return { R, C };
}

// ---------------------------------------------------------------------------------------------------------------
// Choosing complementary suppressions.

/** Lexicographic comparison of keys and costs. */
function less(a: readonly number[], b: readonly number[]): boolean {
  for (let x = 0; x < a.length; x++) if (a[x] !== b[x]) return a[x] < b[x];
  return false;
}

/** Step 2: the standard heuristic, until no line of the extended grid holds exactly one suppressed entry. */
function complementLoneLines(s: Shape, values: number[], suppressed: boolean[]): void {
  const lines = linesOf(s);
  for (let changed = true; changed; ) {
    changed = false;
    lines.forEach((line, l) => {
      if (line.filter((k) => suppressed[k]).length !== 1) return;
      const byRow = l <= s.R;
      let best = -1;
      let bestKey: number[] = [];
      line.forEach((k, p) => {
        if (suppressed[k]) return;
        const crossing = byRow ? lines[s.R + 1 + colOf(s, k)] : lines[rowOf(s, k)];
        const closesLoop = crossing.some((g) => suppressed[g]);
        const kind = values[k] === 0 ? 2 : p === line.length - 1 ? 1 : 0;
        const key = [kind, closesLoop ? 0 : 1, values[k], p];
        if (best < 0 || less(key, bestKey)) {
          best = k;
          bestKey = key;
        }
      });
      suppressed[best] = true;
      changed = true;
    });
  }
}

/** The price of suppressing an entry: grand totals, then margin totals, then cells, then zeros, then size. */
function price(s: Shape, values: number[], k: number): number[] {
  const inTotalsRow = rowOf(s, k) === s.R;
  const inTotalsColumn = colOf(s, k) === s.C;
  const grand = inTotalsRow && inTotalsColumn;
  return [
    grand ? 1 : 0,
    !grand && (inTotalsRow || inTotalsColumn) ? 1 : 0,
    1,
    values[k] === 0 ? 1 : 0,
    values[k],
  ];
}

interface Arc {
  readonly from: number;
  readonly to: number;
  readonly entry: number;
  readonly cost: readonly number[];
}

/** Dijkstra over the tiny graph of the grid (lexicographic costs): the entries on a cheapest path, or undefined. */
function cheapestPath(vertices: number, arcs: Arc[], source: number, target: number) {
  const FREE = [0, 0, 0, 0, 0];
  const cost: (number[] | undefined)[] = new Array(vertices).fill(undefined);
  const via: (Arc | undefined)[] = new Array(vertices).fill(undefined);
  const done = new Array<boolean>(vertices).fill(false);
  cost[source] = FREE;
  for (;;) {
    let u = -1;
    for (let v = 0; v < vertices; v++) {
      const c = cost[v];
      if (!done[v] && c && (u < 0 || less(c, cost[u] as number[]))) u = v;
    }
    if (u < 0) return undefined;
    if (u === target) break;
    done[u] = true;
    for (const arc of arcs) {
      if (arc.from !== u || done[arc.to]) continue;
      const c = (cost[u] as number[]).map((x, i) => x + arc.cost[i]);
      const old = cost[arc.to];
      if (!old || less(c, old)) {
        cost[arc.to] = c;
        via[arc.to] = arc;
      }
    }
  }
  const path: Arc[] = [];
  for (let v = target; v !== source; ) {
    const arc = via[v] as Arc;
    path.push(arc);
    v = arc.from;
  }
  return { cost: cost[target] as number[], entries: path.map((a) => a.entry) };
}

/**
 * Step 3 (and 4, with `floor`): until every suppressed entry lies on a loop of suppressed entries along which the
 * table can move by one, complete the cheapest such loop. An entry may always rise; it may fall only while it stays
 * at or above its floor (0 alone; with earlier packs, the most they can have held there). Mutates `suppressed`.
 */
function protect(s: Shape, values: number[], suppressed: boolean[], floor: number[], order: number[]): void {
  const canFall = (k: number): boolean => values[k] - 1 >= floor[k];
  const vertices = s.R + s.C + 2;
  for (let again = true; again; ) {
    again = false;
    for (const e of order) {
      if (!suppressed[e]) continue;
      const arcs: Arc[] = [];
      for (let k = 0; k < values.length; k++) {
        if (k === e) continue;
        const [from, to] = arcOf(s, k);
        const cost = suppressed[k] ? [0, 0, 0, 0, 0] : price(s, values, k);
        arcs.push({ from, to, entry: k, cost });
        if (canFall(k)) arcs.push({ from: to, to: from, entry: k, cost });
      }
      const [from, to] = arcOf(s, e);
      const rising = cheapestPath(vertices, arcs, to, from);
      const falling = canFall(e) ? cheapestPath(vertices, arcs, from, to) : undefined;
      const best = falling && (!rising || less(falling.cost, rising.cost)) ? falling : rising;
      // Raising e, its row total, its column total and the grand total together is always a loop.
      if (!best) throw new Error('disclosure control: no loop through a suppressed entry');
      for (const k of best.entries) {
        if (!suppressed[k]) {
          suppressed[k] = true;
          again = true;
        }
      }
    }
  }
}

/**
 * The most an earlier (cumulative) pack can have held in entry k: what it published, or for an entry it suppressed,
 * the largest value of any table that fits what it published and nowhere exceeds the counts now (`now`).
 */
function mostItCanHaveHeld(s: Shape, known: Known, now: number[], k: number): number {
  const published = known[k];
  if (published !== null) return published;
  const fits = (x: number): boolean => {
    const lo = zeros(known.length);
    lo[k] = x;
    return completion(s, known, lo, now) !== null;
  };
  let low = 0; // fits: the pack is cumulative
  let high = now[k]; // the answer is at most this
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** A published entry to suppress so that a leak at k closes: the cheapest in k's lines, else anywhere. */
function cheapestPublishedNear(
  s: Shape,
  values: number[],
  suppressed: boolean[],
  k: number,
): number | undefined {
  const near = new Set([
    ...indices(s.C + 1).map((j) => at(s, rowOf(s, k), j)),
    ...indices(s.R + 1).map((i) => at(s, i, colOf(s, k))),
  ]);
  let best: number | undefined;
  let bestKey: number[] = [];
  for (let g = 0; g < values.length; g++) {
    if (suppressed[g]) continue;
    const key = [near.has(g) ? 0 : 1, ...price(s, values, g)];
    if (best === undefined || less(key, bestKey)) {
      best = g;
      bestKey = key;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// The attacker.

/**
 * Complete inference for one table: every unknown entry pinned to one value by the known entries, the line
 * equations and the bounds `lo[k] <= count <= hi[k]` (whole numbers). Null if no completion exists.
 */
function attack(s: Shape, known: Known, lo: number[], hi: number[]): Map<number, number> | null {
  const point = completion(s, known, lo, hi);
  if (!point) return null;
  const unknown = indices(known.length).filter((k) => known[k] === null);
  const arcs: { from: number; to: number; entry: number }[] = [];
  for (const k of unknown) {
    const [from, to] = arcOf(s, k);
    if (point[k] + 1 <= hi[k]) arcs.push({ from, to, entry: k });
    if (point[k] - 1 >= lo[k]) arcs.push({ from: to, to: from, entry: k });
  }
  const reaches = (source: number, target: number, without: number): boolean => {
    const seen = new Set([source]);
    const queue = [source];
    while (queue.length > 0) {
      const u = queue.shift() as number;
      if (u === target) return true;
      for (const a of arcs) {
        if (a.from === u && a.entry !== without && !seen.has(a.to)) {
          seen.add(a.to);
          queue.push(a.to);
        }
      }
    }
    return false;
  };
  const pinned = new Map<number, number>();
  for (const e of unknown) {
    const [from, to] = arcOf(s, e);
    const canRise = point[e] + 1 <= hi[e] && reaches(to, from, e);
    const canFall = point[e] - 1 >= lo[e] && reaches(from, to, e);
    if (!canRise && !canFall) pinned.set(e, point[e]);
  }
  return pinned;
}

/** One whole-number completion of the table within the bounds (a feasible flow), or null if there is none. */
function completion(s: Shape, known: Known, lo: number[], hi: number[]): number[] | null {
  const vertices = s.R + s.C + 2;
  const source = vertices;
  const sink = vertices + 1;
  const supply = zeros(vertices);
  const cap = Array.from({ length: vertices + 2 }, () => zeros(vertices + 2));
  const unknown: number[] = [];
  for (let k = 0; k < known.length; k++) {
    const [from, to] = arcOf(s, k);
    const v = known[k];
    const fixed = v ?? lo[k];
    if (v === null) {
      if (lo[k] > hi[k]) return null;
      unknown.push(k);
    }
    // Flow out minus flow in at each vertex, still to be carried by the unknown entries above their lower bounds.
    supply[from] -= fixed;
    supply[to] += fixed;
  }
  if (supply.reduce((a, b) => a + b, 0) !== 0) return null;
  const needed = supply.reduce((a, b) => a + Math.max(b, 0), 0);
  for (const k of unknown) {
    const [from, to] = arcOf(s, k);
    cap[from][to] = hi[k] === Number.POSITIVE_INFINITY ? needed + 1 : hi[k] - lo[k];
  }
  supply.forEach((b, v) => {
    if (b > 0) cap[source][v] = b;
    if (b < 0) cap[v][sink] = -b;
  });
  const flow = maxFlow(cap, source, sink);
  if (flow.value < needed) return null;
  return known.map((v, k) => {
    if (v !== null) return v;
    const [from, to] = arcOf(s, k);
    return lo[k] + flow.on[from][to];
  });
}

/** Edmonds–Karp on an adjacency matrix (at most 16 vertices here). */
function maxFlow(cap: number[][], source: number, sink: number): { value: number; on: number[][] } {
  const n = cap.length;
  const on = Array.from({ length: n }, () => zeros(n));
  let value = 0;
  for (;;) {
    const parent = new Array<number>(n).fill(-1);
    parent[source] = source;
    const queue = [source];
    while (queue.length > 0 && parent[sink] < 0) {
      const u = queue.shift() as number;
      for (let v = 0; v < n; v++) {
        if (parent[v] < 0 && cap[u][v] - on[u][v] > 0) {
          parent[v] = u;
          queue.push(v);
        }
      }
    }
    if (parent[sink] < 0) return { value, on };
    let push = Number.POSITIVE_INFINITY;
    for (let v = sink; v !== source; v = parent[v])
      push = Math.min(push, cap[parent[v]][v] - on[parent[v]][v]);
    for (let v = sink; v !== source; v = parent[v]) {
      on[parent[v]][v] += push;
      on[v][parent[v]] -= push;
    }
    value += push;
  }
}

interface Inferred {
  readonly later: Known;
  /** Per earlier pack, or null for one the attacker could not use (it contradicts the cumulative assumption). */
  readonly earlier: (Known | null)[];
}

/** All earlier packs together, or, if together they contradict the cumulative assumption, each on its own. */
function inferAll(s: Shape, later: Known, earlier: readonly Known[]): Inferred {
  const joint = infer(s, later, earlier);
  if (joint) return { later: joint.later, earlier: joint.earlier };
  const merged = [...(infer(s, later, [])?.later ?? later)];
  const each = earlier.map((p) => {
    const pair = infer(s, later, [p]);
    if (!pair) return null;
    pair.later.forEach((v, k) => {
      if (merged[k] === null) merged[k] = v;
    });
    return pair.earlier[0];
  });
  return { later: merged, earlier: each };
}

/** The iteration described at `recoverAcrossPacks`; null if the packs contradict each other as cumulative. */
function infer(
  s: Shape,
  laterKnown: Known,
  earlierKnown: readonly Known[],
): { later: Known; earlier: Known[] } | null {
  const n = laterKnown.length;
  const later = [...laterKnown];
  const earlier = earlierKnown.map((p) => [...p]);
  const diff: Known[] = earlierKnown.map(() => new Array<number | null>(n).fill(null));
  const learn = (into: Known, found: Map<number, number> | null): boolean => {
    if (!found) return false;
    for (const [k, v] of found) into[k] = v;
    return true;
  };
  const count = (): number => [later, ...earlier, ...diff].flat().filter((v) => v !== null).length;
  for (;;) {
    const before = count();
    for (let p = 0; p < earlier.length; p++) {
      for (let k = 0; k < n; k++) {
        const t = later[k];
        const e = earlier[p][k];
        const d = diff[p][k];
        if (t !== null && e !== null) {
          if (t < e || (d !== null && d !== t - e)) return null;
          diff[p][k] = t - e;
        } else if (t !== null && d !== null) {
          if (t < d) return null;
          earlier[p][k] = t - d;
        } else if (e !== null && d !== null) {
          later[k] = e + d;
        }
      }
    }
    const atLeast = indices(n).map((k) =>
      Math.max(0, ...earlier.map((p) => p[k] ?? 0), ...diff.map((d) => d[k] ?? 0)),
    );
    const atMost = indices(n).map((k) => later[k] ?? Number.POSITIVE_INFINITY);
    if (!learn(later, attack(s, later, atLeast, infinities(n)))) return null;
    for (let p = 0; p < earlier.length; p++) {
      if (!learn(earlier[p], attack(s, earlier[p], zeros(n), atMost))) return null;
      if (!learn(diff[p], attack(s, diff[p], zeros(n), atMost))) return null;
    }
    if (count() === before) return { later, earlier };
  }
}
