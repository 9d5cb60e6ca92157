import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** One line of the benchmark table: a figure, what it was compared with in the same run, and the goal. */
export interface Figure {
  /** Short, stable id (BENCH_ONLY names these). */
  id: string;
  figure: string;
  value: number;
  unit: string;
  comparedWith?: { what: string; value: number };
  /** value / comparedWith.value (or as the figure says), where there is a comparison. */
  ratio?: number;
  goal: string;
  /** Whether the goal was met; null where the line has no goal of its own. */
  met: boolean | null;
  /** Every run's value (and the comparison's), for those who want more than the median. */
  runs?: { value: number[]; comparedWith?: number[] };
  note?: string;
}

export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/**
 * A figure compared with a baseline, both measured `runs.length` times in the same process: the medians, their
 * ratio (figure over baseline, where higher is better) and whether the ratio reaches `atLeast`.
 */
export function compared(
  f: { id: string; figure: string; unit: string; baseline: string; atLeast: number; note?: string },
  runs: { value: number[]; comparedWith: number[] },
): Figure {
  const value = median(runs.value);
  const base = median(runs.comparedWith);
  const ratio = value / base;
  return {
    id: f.id,
    figure: f.figure,
    value,
    unit: f.unit,
    comparedWith: { what: f.baseline, value: base },
    ratio,
    goal: `ratio >= ${f.atLeast}`,
    met: ratio >= f.atLeast,
    runs,
    ...(f.note ? { note: f.note } : {}),
  };
}

/** Runs the figure and its baseline alternately, `runs` times each, so that noise falls on both alike. */
export async function interleaved(
  label: string,
  runs: number,
  figure: (run: number) => Promise<number>,
  baseline: (run: number) => Promise<number>,
): Promise<{ value: number[]; comparedWith: number[] }> {
  const value: number[] = [];
  const comparedWith: number[] = [];
  for (let run = 1; run <= runs; run++) {
    value.push(await figure(run));
    comparedWith.push(await baseline(run));
    progress(`${label}: run ${run}/${runs}: ${fmt(value[run - 1])} vs ${fmt(comparedWith[run - 1])}`);
  }
  return { value, comparedWith };
}

export const fmt = (n: number) =>
  !Number.isFinite(n) ? String(n) : n >= 100 ? Math.round(n).toLocaleString('en-GB') : n.toFixed(2);

export function printTable(figures: Figure[]): void {
  const rows = figures.map((f) => [
    f.figure,
    fmt(f.value),
    f.unit,
    f.comparedWith ? `${f.comparedWith.what}: ${fmt(f.comparedWith.value)}` : '—',
    f.ratio === undefined ? '—' : f.ratio.toFixed(2),
    f.goal,
    f.met === null ? '—' : f.met ? 'met' : 'MISSED',
  ]);
  const head = ['figure', 'value', 'unit', 'compared with (same run)', 'ratio', 'goal', 'met?'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
  process.stdout.write(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  const notes = figures.filter((f) => f.note);
  if (notes.length) {
    process.stdout.write('\nnotes\n');
    for (const f of notes) process.stdout.write(`  ${f.id}: ${f.note}\n`);
  }
}

export function saveResults(figures: Figure[], environment: Record<string, unknown>): string {
  const dir = resolve(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), environment, figures }, null, 2));
  return file;
}
