import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Each jest run has a state file of its own (named in the environment its workers inherit), so two runs on
 * one machine do not stop each other's Kafka cluster.
 */
export function harnessStateFile(): string {
  return process.env.HLS_HARNESS_FILE ?? resolve(__dirname, '../../test-artifacts/harness.json');
}

export interface HarnessState {
  /** The database the suites use: real PostgreSQL where it is here, else the embedded one. */
  databaseUrl: string;
  /** Embedded PGlite, always started, so the embedded adapter is held to the same contract. */
  embeddedUrl: string;
  /** A file holding the mock cluster's current bootstrap servers, or null when Kafka is not here. */
  brokersFile: string | null;
  kcatPid: number | null;
  pglite: boolean;
  realKafka: boolean;
}

export function harnessState(): HarnessState {
  return JSON.parse(readFileSync(harnessStateFile(), 'utf8')) as HarnessState;
}
