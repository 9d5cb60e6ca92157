import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { runCli } from '../../apps/operations/src/cli';
import { Io } from '../../apps/operations/src/settings';
import { harnessState } from '../harness';

/** What a run of the tool printed, and its exit status. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/**
 * The environment an operator would give the tool for a running test consortium: its database, its schema
 * prefix, its consortium file (a copy with the test's own consortium id), Kafka, the partners' addresses.
 */
export function operatorEnv(c: RunningConsortium, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  mkdirSync('test-artifacts', { recursive: true });
  const file = `test-artifacts/ops-consortium-${randomBytes(4).toString('hex')}.json`;
  writeFileSync(file, JSON.stringify(c.consortium));
  const state = harnessState();
  return {
    DATABASE_URL: c.databaseUrl,
    HLS_SCHEMA_PREFIX: c.schemaOf(''),
    HLS_CONSORTIUM_FILE: file,
    ...(state.brokersFile ? { KAFKA_BROKERS_FILE: state.brokersFile } : {}),
    HLS_PARTNER_URLS: JSON.stringify(Object.fromEntries([...c.partners].map(([id, p]) => [id, p.url]))),
    HLS_PROJECTION_URL: c.projection.url,
    ...extra,
  };
}

/** Runs `hls-consortium <argv>` in this process, as the bin does, capturing what it prints. */
export async function cli(argv: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), tty: false };
  const code = await runCli(argv, io, env);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
