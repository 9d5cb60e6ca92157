import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { HarnessState, harnessStateFile } from './harness-state';

/**
 * Starts what the tests need. Real PostgreSQL (127.0.0.1:5432, database test) and the kcat mock Kafka
 * cluster when they are here; with CI=true a missing one fails the run. Elsewhere the same suites run on
 * embedded PGlite and the in-process bus, and the run says plainly which real parts it did not use.
 */
export default async function globalSetup(): Promise<void> {
  const ci = process.env.CI === 'true';
  const state: HarnessState = {
    databaseUrl: '',
    embeddedUrl: '',
    brokersFile: null,
    kcatPid: null,
    pglite: false,
    realKafka: false,
  };
  const lines: string[] = [];

  // The embedded default always runs too: the event-store contract suite holds it to the same rules.
  const { startEmbeddedPostgres } = await import('../../libs/platform/src/database');
  const embedded = await startEmbeddedPostgres();
  (globalThis as { __embeddedPg?: unknown }).__embeddedPg = embedded;
  state.embeddedUrl = embedded.url;

  const pgUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  if (await reachable(pgUrl)) {
    state.databaseUrl = pgUrl;
    lines.push(`PostgreSQL: real server at ${new URL(pgUrl).host}`);
  } else if (ci) {
    throw new Error(`CI=true and PostgreSQL is not reachable at ${pgUrl}: failing rather than skipping`);
  } else {
    state.databaseUrl = embedded.url;
    state.pglite = true;
    lines.push('PostgreSQL: NOT USED (no server at 127.0.0.1:5432); the suites ran on embedded PGlite');
  }

  const kcat = await startMockKafka().catch((e: Error) => e);
  if (!(kcat instanceof Error)) {
    state.brokersFile = kcat.brokersFile;
    state.kcatPid = kcat.pid;
    state.realKafka = true;
    lines.push(`Kafka: librdkafka mock cluster via kcat (pid ${kcat.pid})`);
  } else if (ci) {
    throw new Error(`CI=true and the kcat mock Kafka cluster could not start (${kcat.message}): failing`);
  } else {
    lines.push(`Kafka: NOT USED (${kcat.message}); the suites ran on the in-process bus`);
  }

  mkdirSync('test-artifacts', { recursive: true });
  process.env.HLS_HARNESS_FILE = resolve(`test-artifacts/harness-${process.pid}.json`);
  writeFileSync(harnessStateFile(), JSON.stringify(state));
  process.stdout.write(`\nTest harness\n  ${lines.join('\n  ')}\n`);
}

async function reachable(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** librdkafka's mock cluster speaks the real Kafka protocol on loopback; it prints its address on stderr. */
export function startMockKafka(
  brokers = 3,
): Promise<{ pid: number; brokersFile: string; bootstrap: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'kcat',
      [
        '-C',
        '-X',
        `test.mock.num.brokers=${brokers}`,
        '-b',
        'x:1',
        '-t',
        'hls-harness',
        '-d',
        'mock',
        '-o',
        'end',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    let err = '';
    const timer = setTimeout(
      () => reject(new Error('kcat did not report its mock brokers within 10 s')),
      10000,
    );
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`kcat is not installed (${e.message})`));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const m = /bootstrap\.servers=([0-9.:,]+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        child.stderr.removeAllListeners('data');
        child.stderr.resume();
        child.unref();
        const brokersFile = `test-artifacts/kafka-brokers-${child.pid}.txt`;
        mkdirSync('test-artifacts', { recursive: true });
        writeFileSync(brokersFile, m[1]);
        resolve({ pid: child.pid as number, brokersFile, bootstrap: m[1] });
      }
    });
  });
}
