import { ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { Consortium } from '@app/consortium';
import { Actor, TokenKeys } from '@app/platform';
import { organisationsOf } from '../apps/consortium/src/secrets';
import { progress } from './report';

/**
 * The consortium's services as the distributed deployment runs them: one process per partner service and one
 * for the projection service (apps/*\/src/main.ts, configured by the environment), so that each has its own
 * event loop and its own resident size. They share the bench's PostgreSQL and Kafka.
 */
export interface ServiceProcess {
  name: string;
  pid: number;
  url: string;
  /** Resident set size now, in bytes (0 once the process has gone). */
  rss(): number;
  /** CPU seconds used so far (user + system). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export interface Deployment {
  consortium: Consortium;
  consortiumFile: string;
  databaseUrl: string;
  brokersFile: string;
  schemaPrefix: string;
  tokenKeys: Record<string, string>;
  matchingSecret: string;
  /** The Ed25519 key that signs evidence packs (PKCS #8 PEM). */
  evidenceSigningKey: string;
}

/** A consortium of its own (its own id, so its own topics and groups) and its secrets, for one bench run. */
export function deployment(
  base: Consortium,
  o: { databaseUrl: string; brokersFile: string; schemaPrefix: string },
): Deployment {
  const consortium = { ...base, id: `${base.id}-bench-${randomBytes(3).toString('hex')}` };
  const consortiumFile = resolve(tmpdir(), `${consortium.id}.json`);
  writeFileSync(consortiumFile, JSON.stringify(consortium));
  return {
    ...o,
    consortium,
    consortiumFile,
    brokersFile: resolve(o.brokersFile),
    tokenKeys: TokenKeys.generate(organisationsOf(consortium)),
    matchingSecret: randomBytes(32).toString('base64url'),
    evidenceSigningKey: generateKeyPairSync('ed25519')
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString(),
  };
}

export const partnerSchema = (d: Deployment, partner: string) =>
  `${d.schemaPrefix}partner_${partner.replaceAll('-', '_')}`;

function commonEnv(d: Deployment): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: d.databaseUrl,
    KEY_SERVICE_DATABASE_URL: d.databaseUrl,
    KEY_SERVICE_SCHEMA: `${d.schemaPrefix}key_service`,
    KAFKA_BROKERS_FILE: d.brokersFile,
    KAFKA_BROKERS: '',
    HLS_TOKEN_KEYS: JSON.stringify(d.tokenKeys),
    HLS_MATCHING_SECRET: d.matchingSecret,
    HLS_CONSORTIUM_FILE: d.consortiumFile,
    HOST: '127.0.0.1',
    PORT: '0',
  };
}

export function startPartnerProcess(d: Deployment, partner: string): Promise<ServiceProcess> {
  return startProcess(`partner ${partner}`, 'apps/partner-service/src/main.ts', {
    ...commonEnv(d),
    PARTNER_ID: partner,
    PARTNER_SCHEMA: partnerSchema(d, partner),
  });
}

export function startProjectionProcess(
  d: Deployment,
  schema: string,
  group: string,
  partners: Map<string, ServiceProcess>,
): Promise<ServiceProcess> {
  return startProcess('projection', 'apps/projection-service/src/main.ts', {
    ...commonEnv(d),
    PROJECTION_SCHEMA: schema,
    PROJECTION_GROUP: group,
    HLS_EVIDENCE_SIGNING_KEY: d.evidenceSigningKey,
    HLS_PARTNER_URLS: JSON.stringify(Object.fromEntries([...partners].map(([id, p]) => [id, p.url]))),
  });
}

export function tokenFor(d: Deployment, actor: Actor): Promise<string> {
  return new TokenKeys(d.tokenKeys).sign(actor);
}

export const workerOf = (partner: string, n = 1): Actor => ({
  userId: `${partner}-worker-${n}`,
  name: `${partner} worker ${n}`,
  organisation: partner,
  role: 'worker',
});

const ROOT = resolve(__dirname, '..');

// A bench that dies (an error, Ctrl-C) takes its services with it, rather than leaving them to load the machine.
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** Starts a service's main.ts under ts-node (swc) and waits for the line that says where it listens. */
function startProcess(name: string, entry: string, env: NodeJS.ProcessEnv): Promise<ServiceProcess> {
  const child = spawn(
    process.execPath,
    [
      // BENCH_PROFILE=<folder>: each service writes a V8 CPU profile there when it stops (for looking into a figure).
      ...(process.env.BENCH_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${resolve(process.env.BENCH_PROFILE)}`]
        : []),
      require.resolve('ts-node/dist/bin'),
      '--swc',
      '-r',
      'tsconfig-paths/register',
      entry,
    ],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  const tail: string[] = [];
  // Everything a service says goes to a log of its own, for looking into a figure afterwards.
  const log = createWriteStream(
    resolve(tmpdir(), `hls-bench-${name.replace(/\W+/g, '-')}-${Date.now()}.log`),
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString().split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 30));
  };
  child.stderr?.on('data', keep);
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within 90 s:\n${tail.join('\n')}`));
    }, 90_000);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      keep(chunk);
      out += chunk.toString();
      const m = / is up at (http:\/\/[^\s]+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      out = '';
      resolveStart(serviceProcess(name, child, m[1]));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it started:\n${tail.join('\n')}`));
    });
  });
}

function serviceProcess(name: string, child: ChildProcess, url: string): ServiceProcess {
  const pid = child.pid as number;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  return {
    name,
    pid,
    url,
    rss: () => (gone ? 0 : procStatus(pid)),
    cpuSeconds: () => (gone ? 0 : procCpu(pid)),
    async stop() {
      if (gone) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

function procStatus(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds used so far by every process of this machine named `command` (PostgreSQL's backends, kcat). */
export function cpuSecondsOf(command: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // With the time of its children that have exited: PostgreSQL's backends end when a pool closes them.
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === command)
        total += procCpu(Number(entry), true);
    } catch {
      // gone between the listing and the read
    }
  }
  return total;
}

export const postgresCpuSeconds = () => cpuSecondsOf('postgres');

/**
 * Where the machine's CPU went from now until the returned function is called: each service, PostgreSQL,
 * the Kafka mock cluster and this bench process (the load generator), in CPU ms per `per` unit of work.
 */
export function cpuMeter(services: ServiceProcess[]): (per: number) => string {
  const read = () => [
    ...services.map((p) => ({ name: p.name, s: p.cpuSeconds() })),
    { name: 'PostgreSQL', s: postgresCpuSeconds() },
    { name: 'Kafka (kcat)', s: cpuSecondsOf('kcat') },
    { name: 'bench', s: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 },
  ];
  const before = read();
  return (per) => {
    const used = read().map((x, i) => ({
      name: x.name,
      ms: ((x.s - before[i].s) * 1000) / Math.max(1, per),
    }));
    const total = used.reduce((sum, x) => sum + x.ms, 0);
    return `${total.toFixed(1)} ms CPU each (${used.map((x) => `${x.name} ${x.ms.toFixed(2)}`).join(', ')})`;
  };
}

function procCpu(pid: number, withChildren = false): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const children = withChildren ? Number(fields[13]) + Number(fields[14]) : 0;
    return (Number(fields[11]) + Number(fields[12]) + children) / 100;
  } catch {
    return 0;
  }
}

/**
 * Waits until every process has used less than `busy` of a core over the last two seconds. An idle service
 * is never quite still: its relay looks at the log every 25 ms and its consumers fetch every 20 ms.
 */
export async function settled(processes: ServiceProcess[], busy = 0.25, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let before = processes.map((p) => p.cpuSeconds());
  while (Date.now() < deadline) {
    await sleep(2000);
    const now = processes.map((p) => p.cpuSeconds());
    const busiest = Math.max(...now.map((c, i) => (c - before[i]) / 2));
    before = now;
    if (busiest < busy) return;
  }
  progress(`services still busy after ${timeoutMs / 1000} s; going on`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
