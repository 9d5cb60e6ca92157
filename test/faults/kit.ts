import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, Server, Socket } from 'node:net';
import { Consortium, loadConsortium } from '@app/consortium';
import { checkpointOf, LOG_START, PostgresEventStore, RecordedEvent } from '@app/event-store';
import { Delivery, KafkaBus, MessageBus, toCloudEvent, topicFor } from '@app/messaging';
import { createPool, TokenKeys } from '@app/platform';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { RunningConsortium, startConsortium } from '../../apps/consortium/src/consortium-runner';
import { organisationsOf } from '../../apps/consortium/src/secrets';
import { openReadModels } from '../../apps/projection-service/src/projection-service';
import { project } from '../../apps/projection-service/src/shared/projector';
import { eventually, harnessState, uniqueSchema } from '../harness';
import { api, readModelChecksum, tokenFor } from '../harness/consortium';
import { startMockKafka } from '../harness/global-setup';

/** Helpers the fault tests share: a Kafka cluster of their own, a cuttable database link, clean builds. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const hourAgo = () => new Date(Date.now() - 3600_000).toISOString();

/** With CI=true a fault test that needs real Kafka or PostgreSQL fails rather than skip (the harness checks). */
export const realKafka = () => harnessState().realKafka;

/**
 * A kcat mock cluster of the test's own, so freezing or killing it affects no other suite. Its address is
 * kept in a file that the buses read on every (re)connection: `replace()` starts a new, empty cluster there.
 */
export class OwnKafka {
  private constructor(
    public pid: number,
    readonly brokersFile: string,
  ) {}

  static async start(): Promise<OwnKafka> {
    const mock = await startMockKafka();
    const file = `test-artifacts/faults-brokers-${randomBytes(4).toString('hex')}.txt`;
    writeFileSync(file, mock.bootstrap);
    return new OwnKafka(mock.pid, file);
  }

  bus(consortiumId: string, clientId = 'faults'): KafkaBus {
    const file = this.brokersFile;
    return new KafkaBus({
      clientId,
      consortiumId,
      brokers: () => require('node:fs').readFileSync(file, 'utf8').trim().split(','),
    });
  }

  brokers(): string[] {
    return require('node:fs').readFileSync(this.brokersFile, 'utf8').trim().split(',');
  }

  freeze(): void {
    process.kill(this.pid, 'SIGSTOP');
  }

  resume(): void {
    try {
      process.kill(this.pid, 'SIGCONT');
    } catch {
      // killed already
    }
  }

  /** The mock keeps nothing on disk: this is the loss of the whole cluster, every topic and offset. */
  kill(): void {
    try {
      process.kill(this.pid, 'SIGCONT');
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** A new, empty cluster configured where the old one was named. */
  async replace(): Promise<void> {
    const mock = await startMockKafka();
    this.pid = mock.pid;
    writeFileSync(this.brokersFile, mock.bootstrap);
  }
}

/** The consortium in schemas of its own, as startTestConsortium makes it, on the bus and database given. */
export async function startFaultConsortium(
  bus: (consortiumId: string) => MessageBus,
  databaseUrl = harnessState().databaseUrl,
  overrides: Partial<Consortium> = {},
): Promise<RunningConsortium> {
  const base = loadConsortium();
  const consortium = { ...base, ...overrides, id: `${base.id}-${randomBytes(3).toString('hex')}` };
  return startConsortium({
    consortium,
    secrets: {
      tokenKeys: TokenKeys.generate(organisationsOf(consortium)),
      matchingSecret: randomBytes(32).toString('base64url'),
    },
    databaseUrl,
    bus: bus(consortium.id),
    schemaPrefix: `${uniqueSchema('f')}_`,
  });
}

/**
 * For a describe block: the consortium in process on a Kafka cluster of its own (frozen or killed by the
 * tests), both stopped after the block, the cluster resumed first so that stopping does not hang on it.
 */
export function onOwnKafka(clientId: string): { kafka: () => OwnKafka; c: () => RunningConsortium } {
  let kafka: OwnKafka;
  let c: RunningConsortium;
  beforeAll(async () => {
    kafka = await OwnKafka.start();
    c = await startFaultConsortium((id) => kafka.bus(id, clientId));
  }, 60000);
  afterAll(async () => {
    kafka?.resume();
    await c?.stop();
    kafka?.kill();
  });
  return { kafka: () => kafka, c: () => c };
}

/** Every event in each store, in its log order. */
export async function storeEvents(pool: Pool, schemas: string[]): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  for (const schema of schemas) {
    const store = await PostgresEventStore.open({ pool, schema });
    for (let at = LOG_START; ; ) {
      const batch = await store.readLog(at, 1000);
      if (batch.length === 0) break;
      all.push(...batch);
      at = checkpointOf(batch[batch.length - 1]);
    }
  }
  return all;
}

/** Events as the consumer receives them from the topics (partition by key, offsets per topic). */
export function asDeliveries(consortiumId: string, events: RecordedEvent[]): Delivery[] {
  return events.map((e, i) => ({
    topic: topicFor(consortiumId, e.metadata.scale),
    partition: 0,
    offset: String(i),
    key: e.metadata.subject,
    event: toCloudEvent(consortiumId, e),
  }));
}

/** Orders events across stores as they happened: a referral's answer comes after its request. */
export const inRecordedOrder = (events: RecordedEvent[]) =>
  [...events].sort((a, b) => a.recordedAt.localeCompare(b.recordedAt) || a.position - b.position);

/**
 * Builds the read models afresh in a schema of their own, straight from the partners' stores (the system of
 * record), with `deliver` choosing how the events arrive; answers their checksum and drops the schema.
 */
export async function cleanBuildChecksum(
  databaseUrl: string,
  consortiumId: string,
  storeSchemas: string[],
  deliver: (d: Delivery[]) => Delivery[][] = (d) => chunks(d, 100),
): Promise<string> {
  const pool = createPool(databaseUrl, 2);
  const schema = uniqueSchema('clean');
  const dataSource = await openReadModels(databaseUrl, schema);
  try {
    const events = inRecordedOrder(await storeEvents(pool, storeSchemas));
    for (const batch of deliver(asDeliveries(consortiumId, events))) {
      const rejected = await project(dataSource, batch);
      if (rejected.length) throw new Error(`a clean build rejected ${rejected[0].reason}`);
    }
    return await checksumOf(dataSource, schema);
  } finally {
    await dataSource.destroy();
    await pool.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
    await pool.end();
  }
}

/** The read-model checksum of any projection schema, through anything that answers rows to a query. */
export function checksumOf(
  db: { query(sql: string): Promise<{ sum: string }[]> },
  schema: string,
): Promise<string> {
  return readModelChecksum({
    schemaOf: () => schema,
    projection: { dataSource: db },
  } as unknown as RunningConsortium);
}

export const partnerSchemas = (c: RunningConsortium) =>
  [...c.partners.keys()].map((p) => c.schemaOf(`partner_${p}`));

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Tokens for a consortium whose signing keys the test holds (in process or in child processes). */
export const signer = (tokenKeys: TokenKeys) => ({ tokenKeys }) as RunningConsortium;

/**
 * A small, varied day of work across partners: people registered, consent given, contacts, a revision of
 * what matters, a referral accepted on the other side, a learning cycle and an issue. Answers the refs.
 */
export async function recordWork(c: RunningConsortium, tag: string, people = 2): Promise<string[]> {
  const fs = c.partners.get('fresh-start')!.url;
  const sp = c.partners.get('spartans')!.url;
  const fsToken = await tokenFor(c, 'fresh-start', 'worker', `fs-${tag}`);
  const spToken = await tokenFor(c, 'spartans', 'worker', `sp-${tag}`);
  const ok = (r: { status: number; body: unknown }, what: string) => {
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as Record<string, string>;
  };
  const refs: string[] = [];
  for (let i = 0; i < people; i++) {
    const body = { name: `Person ${tag} ${i}`, dateOfBirth: '1990-01-02', whatMatters: `Work ${tag}` };
    const ref = ok(await api(fs, 'POST', '/people', fsToken, body), 'register').personRef;
    refs.push(ref);
    ok(
      await api(fs, 'POST', `/people/${ref}/consents`, fsToken, {
        partners: ['spartans'],
        purposes: ['support', 'referral'],
      }),
      'consent',
    );
    ok(
      await api(fs, 'POST', `/people/${ref}/journey/contacts`, fsToken, {
        kind: 'visit',
        occurredAt: hourAgo(),
        durationMinutes: 30,
        notes: `Talked about ${tag}`,
      }),
      'contact',
    );
    ok(
      await api(fs, 'PUT', `/people/${ref}/what-matters`, fsToken, { whatMatters: `A home, ${tag}` }),
      'what matters',
    );
  }
  const { referralId } = ok(
    await api(fs, 'POST', '/referrals', fsToken, {
      personRef: refs[0],
      toOrganisation: 'spartans',
      reason: `Football for ${tag}`,
    }),
    'referral',
  );
  await eventually(async () => {
    const r = await api(sp, 'POST', `/referrals/${referralId}/acceptance`, spToken);
    return r.status === 404 ? undefined : ok(r, 'acceptance');
  }, `referral ${referralId} to reach spartans`);
  const { cycleId } = ok(
    await api(sp, 'POST', '/learning-cycles', spToken, {
      title: `Cycle ${tag}`,
      scale: 'team',
      team: 'coaches',
    }),
    'cycle',
  );
  ok(
    await api(sp, 'POST', `/learning-cycles/${cycleId}/purpose`, spToken, { purpose: `Learn ${tag}` }),
    'purpose',
  );
  ok(
    await api(sp, 'POST', '/issues', spToken, {
      description: `Issue ${tag}`,
      level: 2,
      owner: 'leadership',
      raisedFrom: { kind: 'experiment', ref: cycleId },
      evidence: [],
    }),
    'issue',
  );
  return refs;
}

/**
 * How far a consumer group is behind the end of its topics (0 when it has committed every message); the
 * committed offsets move at most twice a second after the handler took each batch.
 */
export async function groupLag(brokers: string[], groupId: string, topics: string[]): Promise<number> {
  const admin = new Kafka({ clientId: 'faults-lag', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    let lag = 0;
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      for (const end of ends) {
        const c = committed.partitions.find((p) => p.partition === end.partition);
        const at = c && Number(c.offset) >= 0 ? Number(c.offset) : Number(end.low);
        lag += Math.max(0, Number(end.high) - at);
      }
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

/**
 * A TCP proxy in front of PostgreSQL that can be cut (every connection dropped, new ones refused) and
 * restored, so that one test's database "restarts" while every other suite's stays up.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Where clients connect: the target's URL with this proxy's host and port. */
  urlFor(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket();
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      upstream.connect(this.targetPort, this.targetHost);
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** The database goes away: open connections are reset and the port refuses new ones. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    const closed = new Promise((r) => server?.close(r));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** The database is back, on the same address. */
  async restore(): Promise<void> {
    if (!this.server) await this.start();
  }

  async stop(): Promise<void> {
    if (this.server) await this.cut();
  }
}

/** A free TCP port on loopback, so a restarted child service comes back at the same address. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

export const signingKeys = (consortium: Consortium) => TokenKeys.generate(organisationsOf(consortium));
