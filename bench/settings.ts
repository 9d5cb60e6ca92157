/** The figures, by id, in the order they run: BENCH_ONLY names some of them. */
export const FIGURE_IDS = [
  'append',
  'append-batch',
  'emmett',
  'log-read',
  'relay',
  'rebuild',
  'memory',
  'latency',
  'queries',
  // Issue 4's: the place view and composing a pack from the read models, and the evidence read models' rebuild.
  'evidence',
  // Issue 5's: the portal's main pages rendered on the server, p95 under autocannon, with the demo data.
  'portal',
] as const;
export type FigureId = (typeof FIGURE_IDS)[number];

/**
 * What a run measures and how big it is, from the environment:
 *
 *   DATABASE_URL   PostgreSQL (default postgres://postgres@127.0.0.1:5432/test)
 *   BENCH_SCALE    multiplies every size and duration (default 1: a place of 1,000,000 events, 60 s of load);
 *                  0.05 is a quick run of a few minutes
 *   BENCH_ONLY     a comma list of figure ids (FIGURE_IDS); default all
 *   BENCH_RUNS     runs per figure, the median is reported (default 3; 5 for the appends)
 *   BENCH_SEED     the generated place's seed (default 1)
 */
export class Settings {
  readonly databaseUrl: string;
  readonly scale: number;
  readonly only: ReadonlySet<string>;
  readonly runs: number;
  readonly seed: number;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.databaseUrl = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    this.scale = Number(env.BENCH_SCALE ?? 1);
    if (!(this.scale > 0)) throw new Error(`BENCH_SCALE "${env.BENCH_SCALE}" is not a positive number`);
    const only = (env.BENCH_ONLY ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = only.filter((id) => !(FIGURE_IDS as readonly string[]).includes(id));
    if (unknown.length)
      throw new Error(`BENCH_ONLY names ${unknown.join(', ')}; the figures are ${FIGURE_IDS.join(', ')}`);
    this.only = new Set(only.length ? only : FIGURE_IDS);
    this.runs = Math.max(1, Number(env.BENCH_RUNS ?? 3));
    this.seed = Number(env.BENCH_SEED ?? 1);
  }

  wants(...ids: string[]): boolean {
    return ids.some((id) => this.only.has(id));
  }

  /** A size or a duration at this scale, never below `min`. */
  scaled(n: number, min: number): number {
    return Math.max(min, Math.round(n * this.scale));
  }

  /** The generated place's size. */
  get placeEvents(): number {
    return this.scaled(1_000_000, 5_000);
  }
}
