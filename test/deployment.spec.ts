import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { consortiumSchema } from '@app/consortium';
import { consortiumTopics, topicSettingsFromEnv } from '@app/messaging';
import { parse as parseYaml } from 'yaml';

/**
 * The distributed deployment's files: docker-compose.yml (checked and resolved by docker-compose itself, with
 * no Docker engine), the Dockerfile, .dockerignore. A partner added to the consortium file without its own
 * service and database in docker-compose.yml fails here.
 *
 * The compose file is read as docker-compose resolves it (anchors merged, variables interpolated), so these
 * tests need docker-compose: without it they are skipped, except with CI=true, where they fail.
 */
const ROOT = resolve(__dirname, '..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const ci = process.env.CI === 'true';

const composeBinary = (() => {
  const which = spawnSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : null;
})();
if (!composeBinary) {
  console.warn(
    ci
      ? 'docker-compose is not installed and CI=true: the docker-compose.yml tests fail rather than skip'
      : 'docker-compose is not installed: the docker-compose.yml tests are SKIPPED ' +
          '(apt-get install -y docker-compose to run them)',
  );
}
const withCompose = composeBinary || ci ? it : it.skip;

const secret = (n: number) => Buffer.alloc(32, n).toString('base64url');
/** Secrets the compose file must take from the environment (or .env); dummy values, for checking only. */
const DUMMY_SECRETS = {
  HLS_TOKEN_KEYS: JSON.stringify({ 'fresh-start': secret(1), spartans: secret(2) }),
  HLS_MATCHING_SECRET: secret(3),
  HLS_EVIDENCE_SIGNING_KEY: secret(4),
};

function requireCompose(): string {
  if (!composeBinary) throw new Error('docker-compose is not installed, and CI=true requires it');
  return composeBinary;
}

/** Runs docker-compose on the file with only the given secrets: the developer's own .env is not read. */
function compose(args: string[], secrets: Record<string, string>) {
  const bin = requireCompose();
  const dir = mkdtempSync(join(tmpdir(), 'hls-compose-'));
  const envFile = join(dir, 'empty.env');
  writeFileSync(envFile, '');
  const env: NodeJS.ProcessEnv = { ...process.env, ...secrets };
  for (const k of ['HLS_TOKEN_KEYS', 'HLS_MATCHING_SECRET', 'HLS_EVIDENCE_SIGNING_KEY', 'POSTGRES_PASSWORD'])
    if (!(k in secrets)) delete env[k];
  try {
    return spawnSync(bin, ['-f', COMPOSE_FILE, '--env-file', envFile, ...args], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 60000,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Service {
  image?: string;
  build?: { context?: string; args?: Record<string, string> };
  environment?: Record<string, string | number | null>;
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string };
  deploy?: { replicas?: number };
  container_name?: string;
}
interface ComposeModel {
  services: Record<string, Service>;
}

/**
 * The file as docker-compose resolves it, as JSON. docker-compose 1.x prints YAML: it is read with the PyYAML
 * of the Python that runs docker-compose (a dependency of it); docker-compose 2.x prints JSON itself.
 */
function resolvedCompose(): ComposeModel {
  const bin = requireCompose();
  const head = readFileSync(bin).subarray(0, 200).toString('latin1');
  if (!head.startsWith('#!')) {
    const out = compose(['config', '--format', 'json'], DUMMY_SECRETS);
    if (out.status !== 0) throw new Error(`docker-compose config failed: ${out.stderr}`);
    return JSON.parse(out.stdout) as ComposeModel;
  }
  const python = head.slice(2).split('\n')[0].trim().split(/\s+/);
  const out = compose(['config'], DUMMY_SECRETS);
  if (out.status !== 0) throw new Error(`docker-compose config failed: ${out.stderr}`);
  const toJson = spawnSync(
    python[0],
    [...python.slice(1), '-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { input: out.stdout, encoding: 'utf8' },
  );
  if (toJson.status !== 0) throw new Error(`could not read docker-compose's output: ${toJson.stderr}`);
  return JSON.parse(toJson.stdout) as ComposeModel;
}

const consortium = consortiumSchema.parse(
  JSON.parse(readFileSync(join(ROOT, 'consortium/north-edinburgh.json'), 'utf8')),
);
const env = (s: Service, name: string): string | undefined =>
  s.environment?.[name] === undefined || s.environment[name] === null
    ? undefined
    : String(s.environment[name]);
const hostOf = (url: string | undefined) => (url ? new URL(url).hostname : undefined);
const appOf = (s: Service) => s.build?.args?.APP;
const healthTest = (s: Service) => [s.healthcheck?.test ?? []].flat().join(' ');

describe('docker-compose.yml', () => {
  let model: ComposeModel;
  const services = () => Object.entries(model.services);
  const ofApp = (app: string) => services().filter(([, s]) => appOf(s) === app);
  const isPostgres = (s: Service) => /^postgres:16(\b|$)/.test(s.image ?? '');

  beforeAll(() => {
    if (composeBinary || ci) model = resolvedCompose();
  });

  withCompose('is valid: docker-compose config -q exits 0 with the secrets in the environment', () => {
    const out = compose(['config', '-q'], DUMMY_SECRETS);
    expect({ status: out.status, stderr: out.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('keeps to what Compose 2 (`docker compose config`) also accepts', () => {
    const raw = parseYaml(readFileSync(COMPOSE_FILE, 'utf8')) as Record<string, unknown> & {
      services: Record<string, { ports?: string[]; deploy?: { replicas?: number }; container_name?: string }>;
    };
    // The top-level keys of the Compose specification; `version` is obsolete there (a warning), `x-` extensions.
    const allowed = ['services', 'volumes', 'networks', 'configs', 'secrets', 'include'];
    expect(Object.keys(raw).filter((k) => !k.startsWith('x-') && !allowed.includes(k))).toEqual([]);
    for (const [name, s] of Object.entries(raw.services)) {
      const replicas = s.deploy?.replicas ?? 1;
      if (replicas === 1) continue;
      // A replicated service has no fixed name, and a host port range with a port for every replica.
      expect({ name, container_name: s.container_name }).toEqual({ name, container_name: undefined });
      for (const port of s.ports ?? []) {
        const host = /(?:^|:)(\d+)-(\d+):\d+$/.exec(port);
        expect({ name, port, range: host ? Number(host[2]) - Number(host[1]) + 1 : 1 }).toEqual({
          name,
          port,
          range: replicas,
        });
      }
    }
  });

  withCompose('refuses to start without the secrets: they have no defaults', () => {
    const out = compose(['config', '-q'], {});
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/HLS_TOKEN_KEYS|HLS_MATCHING_SECRET/);
  });

  withCompose('has a Kafka cluster of three combined broker+controller nodes in KRaft mode', () => {
    const kafka = services().filter(([, s]) => /^(apache|bitnami)\/kafka:/.test(s.image ?? ''));
    expect(kafka.map(([name]) => name).sort()).toEqual(['kafka-1', 'kafka-2', 'kafka-3']);
    const ids = kafka.map(([, s]) => env(s, 'KAFKA_NODE_ID')).sort();
    expect(ids).toEqual(['1', '2', '3']);
    const voters = new Set(kafka.map(([, s]) => env(s, 'KAFKA_CONTROLLER_QUORUM_VOTERS')));
    expect(voters.size).toBe(1);
    const quorum = [...voters][0]?.split(',').sort();
    expect(quorum).toEqual(kafka.map(([name, s]) => `${env(s, 'KAFKA_NODE_ID')}@${name}:9093`).sort());
    expect(new Set(kafka.map(([, s]) => env(s, 'CLUSTER_ID'))).size).toBe(1);
    for (const [name, s] of kafka) {
      expect({ name, roles: env(s, 'KAFKA_PROCESS_ROLES')?.split(',').sort() }).toEqual({
        name,
        roles: ['broker', 'controller'],
      });
      expect(env(s, 'KAFKA_ZOOKEEPER_CONNECT')).toBeUndefined();
      expect(env(s, 'KAFKA_DEFAULT_REPLICATION_FACTOR')).toBe('3');
      expect(env(s, 'KAFKA_MIN_INSYNC_REPLICAS')).toBe('2');
      expect(env(s, 'KAFKA_ADVERTISED_LISTENERS')).toContain(`PLAINTEXT://${name}:9092`);
      // The services create their topics with their retention: none may be auto-created with the defaults.
      expect(env(s, 'KAFKA_AUTO_CREATE_TOPICS_ENABLE')).toBe('false');
      expect(env(s, 'KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE')).toBe('false');
      expect(healthTest(s)).not.toBe('');
    }
  });

  withCompose('runs one partner service per partner in the consortium file, each on its own database', () => {
    const partners = ofApp('partner-service');
    const byPartner = new Map(partners.map(([name, s]) => [env(s, 'PARTNER_ID'), { name, s }]));
    expect([...byPartner.keys()].sort()).toEqual(consortium.partners.map((p) => p.id).sort());
    expect(partners).toHaveLength(consortium.partners.length);
    const databases = new Set<string | undefined>();
    for (const p of consortium.partners) {
      const { name, s } = byPartner.get(p.id)!;
      const db = hostOf(env(s, 'DATABASE_URL'));
      expect({ name, db }).toEqual({ name, db: `postgres-${p.id}` });
      expect(isPostgres(model.services[db as string])).toBe(true);
      databases.add(db);
      expect(s.depends_on?.[db as string]?.condition).toBe('service_healthy');
      expect(env(s, 'KAFKA_BROKERS')?.split(',').sort()).toEqual([
        'kafka-1:9092',
        'kafka-2:9092',
        'kafka-3:9092',
      ]);
      for (const k of ['kafka-1', 'kafka-2', 'kafka-3', 'postgres-key-service'])
        expect({ name, k, condition: s.depends_on?.[k]?.condition }).toEqual({
          name,
          k,
          condition: 'service_healthy',
        });
      expect(env(s, 'HLS_TOKEN_KEYS')).toBe(DUMMY_SECRETS.HLS_TOKEN_KEYS);
      expect(env(s, 'HLS_MATCHING_SECRET')).toBe(DUMMY_SECRETS.HLS_MATCHING_SECRET);
      expect(healthTest(s)).toContain('/health');
    }
    expect(databases.size).toBe(consortium.partners.length);
  });

  withCompose(
    'has every Kafka client create the topics with 3 copies, 2 in sync for a write, and produce idempotently',
    () => {
      const clients = [...ofApp('partner-service'), ...ofApp('projection-service')];
      expect(clients.length).toBe(consortium.partners.length + 1);
      for (const [name, s] of clients) {
        const settings = topicSettingsFromEnv(
          Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v ?? '')])),
        );
        expect({ name, ...settings }).toEqual({
          name,
          partitions: 4,
          replicationFactor: 3,
          minInsyncReplicas: 2,
          deadLetterRetentionMs: expect.any(Number),
          idempotentProducer: true,
        });
        // The learning topics as that service creates them: kept for ever, two in-sync copies of three.
        for (const spec of consortiumTopics(consortium.id, settings).slice(0, -1))
          expect(spec.configs).toMatchObject({ 'min.insync.replicas': '2', 'retention.ms': '-1' });
      }
      // The portal uses no Kafka.
      for (const [, s] of ofApp('portal')) expect(env(s, 'KAFKA_BROKERS')).toBeUndefined();
    },
  );

  withCompose('runs the projection service as two replicas of one consumer group', () => {
    const projection = ofApp('projection-service');
    expect(projection).toHaveLength(1);
    const [[, s]] = projection;
    expect(s.deploy?.replicas).toBe(2);
    expect(s.container_name).toBeUndefined(); // a fixed name would allow only one replica
    expect(hostOf(env(s, 'DATABASE_URL'))).toBe('postgres-projection');
    expect(s.depends_on?.['postgres-projection']?.condition).toBe('service_healthy');
    expect(env(s, 'HLS_TOKEN_KEYS')).toBe(DUMMY_SECRETS.HLS_TOKEN_KEYS);
    expect(healthTest(s)).toContain('/health');
  });

  withCompose(
    'serves the portal over the projection and every partner service, once they are healthy',
    () => {
      const portal = ofApp('portal');
      expect(portal).toHaveLength(1);
      const [[, s]] = portal;
      expect(hostOf(env(s, 'PROJECTION_URL'))).toBe('projection');
      const partnerUrls = JSON.parse(env(s, 'HLS_PARTNER_URLS') ?? '{}') as Record<string, string>;
      expect(Object.keys(partnerUrls).sort()).toEqual(consortium.partners.map((p) => p.id).sort());
      for (const [partner, url] of Object.entries(partnerUrls)) {
        const service = `partner-${partner}`;
        expect(hostOf(url)).toBe(service);
        expect(s.depends_on?.[service]?.condition).toBe('service_healthy');
      }
      expect(s.depends_on?.projection?.condition).toBe('service_healthy');
      expect(healthTest(s)).toContain('/health');
    },
  );

  withCompose('has a PostgreSQL 16 per partner, one for the projection and one for the key service', () => {
    const postgres = services()
      .filter(([, s]) => isPostgres(s))
      .map(([name]) => name)
      .sort();
    expect(postgres).toEqual(
      [
        ...consortium.partners.map((p) => `postgres-${p.id}`),
        'postgres-projection',
        'postgres-key-service',
      ].sort(),
    );
    for (const name of postgres) expect(healthTest(model.services[name])).toContain('pg_isready');
    const keyServiceHosts = new Set(
      [...ofApp('partner-service'), ...ofApp('projection-service')].map(([, s]) =>
        hostOf(env(s, 'KEY_SERVICE_DATABASE_URL')),
      ),
    );
    expect([...keyServiceHosts]).toEqual(['postgres-key-service']);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('builds in stages: at least two FROM', () => {
    expect(instructions.filter((l) => /^FROM\s/i.test(l)).length).toBeGreaterThanOrEqual(2);
  });

  it('runs as a user that is not root', () => {
    const users = instructions.filter((l) => /^USER\s/i.test(l)).map((l) => l.split(/\s+/)[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:.*)?$/);
  });

  it('chooses the app by ARG APP and ENV APP', () => {
    expect(instructions.some((l) => /^ARG\s+APP(=|\s|$)/i.test(l))).toBe(true);
    expect(instructions.some((l) => /^ENV\s+APP=/i.test(l))).toBe(true);
  });

  it('keeps dependencies, local state and secrets out of the build context (.dockerignore)', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', '.data', 'test-artifacts', '.git', '.env'])
      expect(ignored).toContain(entry);
  });
});
