import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** One line of the benchmark table: a figure, what it was compared with in the same run, and the goal. */
export interface Figure {
  figure: string;
  value: number;
  unit: string;
  comparedWith?: { what: string; value: number };
  /** value / comparedWith.value, where there is a comparison. */
  ratio?: number;
  goal: string;
  met: boolean;
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
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-GB') : n.toFixed(2));

export function printTable(figures: Figure[]): void {
  const rows = figures.map((f) => [
    f.figure,
    fmt(f.value),
    f.unit,
    f.comparedWith ? `${f.comparedWith.what}: ${fmt(f.comparedWith.value)}` : '—',
    f.ratio === undefined ? '—' : f.ratio.toFixed(2),
    f.goal,
    f.met ? 'met' : 'MISSED',
  ]);
  const head = ['figure', 'value', 'unit', 'compared with (same run)', 'ratio', 'goal', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
  process.stdout.write(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}

export function saveResults(figures: Figure[], environment: Record<string, unknown>): string {
  const dir = resolve(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), environment, figures }, null, 2));
  return file;
}
