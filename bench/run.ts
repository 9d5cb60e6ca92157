import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { startMockKafka } from '../test/harness/global-setup';
import { appendThroughput } from './event-store.bench';
import { appendToViewLatency } from './latency.bench';
import { Figure, printTable, progress, saveResults } from './report';

/**
 * `npm run bench`: every benchmark on real PostgreSQL (DATABASE_URL, default 127.0.0.1:5432/test) and Kafka
 * (KAFKA_BROKERS, or a kcat mock cluster started here). Prints the table and writes it to bench/results/.
 */
async function main() {
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  let kcatPid: number | null = null;
  let brokers: () => string[];
  if (process.env.KAFKA_BROKERS) {
    const list = process.env.KAFKA_BROKERS.split(',');
    brokers = () => list;
  } else {
    const mock = await startMockKafka();
    kcatPid = mock.pid;
    brokers = () => readFileSync(mock.brokersFile, 'utf8').trim().split(',');
    progress(`Kafka: kcat mock cluster at ${mock.bootstrap}`);
  }
  const figures: Figure[] = [];
  try {
    figures.push(...(await appendThroughput(databaseUrl)));
    figures.push(...(await appendToViewLatency(databaseUrl, brokers)));
  } finally {
    if (kcatPid) process.kill(kcatPid, 'SIGKILL');
  }
  printTable(figures);
  const file = saveResults(figures, {
    cpus: os.cpus().length,
    node: process.version,
    kafka: kcatPid ? 'kcat mock' : 'KAFKA_BROKERS',
  });
  process.stdout.write(`\nwritten to ${file}\n`);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
