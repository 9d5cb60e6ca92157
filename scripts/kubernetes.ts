import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Consortium, consortiumSchema, DEFAULT_CONSORTIUM_FILE, Partner } from '@app/consortium';
import { Command } from 'commander';
import { stringify } from 'yaml';

/**
 * The Kubernetes manifests of a consortium, generated from its consortium file: a Deployment and a Service per
 * partner, the projection service as one Deployment of several replicas (one Kafka consumer group), the
 * portal, the consortium file as a ConfigMap. PostgreSQL and Kafka are services that exist already (a managed
 * database, a Kafka operator's cluster): they are named by address, the databases through Secrets.
 *
 * Secrets are referenced by name and key, never written here: docs/deployment.md says how to make each one.
 *
 *   npm run kubernetes                      rewrite deploy/kubernetes/ from consortium/north-edinburgh.json
 *   npm run kubernetes -- --help            every option (another consortium file, image, Kafka, output folder)
 *
 * test/kubernetes.spec.ts regenerates them and fails if the committed files differ, so they cannot drift from
 * the consortium file.
 */

export interface KubernetesOptions {
  /** Where everything runs; default hls-<consortium id>. */
  namespace: string;
  /** The one image of every app (built with --build-arg APP=consortium, which carries Chromium for PDFs). */
  image: string;
  /** The Kafka cluster's bootstrap addresses, a comma list. */
  kafkaBrokers: string;
  /** Copies of each partition; a write is acknowledged by two where this is 3 or more. */
  replicationFactor: number;
  /** Partitions of each topic: the most projection replicas that can share the work. */
  partitions: number;
  projectionReplicas: number;
  portalReplicas: number;
}

export const DEFAULT_KUBERNETES_OPTIONS = (consortium: Consortium): KubernetesOptions => ({
  namespace: `hls-${consortium.id}`,
  image: `hls-consortium:${packageVersion()}`,
  kafkaBrokers: 'kafka-bootstrap.kafka.svc.cluster.local:9092',
  replicationFactor: 3,
  partitions: 4,
  projectionReplicas: 2,
  portalReplicas: 2,
});

/**
 * The health routes the probes call (libs/platform/src/http/app.ts, @nestjs/terminus). Liveness: the process
 * answers, asking no dependency, so an outage of PostgreSQL or Kafka restarts nothing. Readiness: every
 * dependency (PostgreSQL, Kafka, the key store) answers; a pod that is not ready is taken out of its Service.
 */
export const PROBE_PATHS = { liveness: '/health/live', readiness: '/health/ready' } as const;

/** Every Secret the manifests reference, by name, with its key and what it holds (docs/deployment.md). */
export function secretsOf(consortium: Consortium): { name: string; key: string; holds: string }[] {
  return [
    {
      name: 'hls-token-keys',
      key: 'token-keys',
      holds: 'HLS_TOKEN_KEYS: JSON, organisation id to token signing key',
    },
    { name: 'hls-matching-secret', key: 'matching-secret', holds: 'HLS_MATCHING_SECRET (partner services)' },
    { name: 'hls-evidence-signing-key', key: 'signing-key', holds: 'HLS_EVIDENCE_SIGNING_KEY (projection)' },
    { name: 'hls-key-service-database', key: 'url', holds: "the key service's PostgreSQL URL" },
    { name: 'hls-projection-database', key: 'url', holds: "the read models' PostgreSQL URL" },
    { name: 'hls-portal-database', key: 'url', holds: "the portal's PostgreSQL URL (users and sessions)" },
    ...consortium.partners.flatMap((p) => [
      { name: databaseSecret(p), key: 'url', holds: `${p.name}'s own PostgreSQL URL (its event store)` },
      ...(p.eventStore === 'kurrentdb'
        ? [{ name: kurrentSecret(p), key: 'url', holds: `${p.name}'s KurrentDB connection string` }]
        : []),
    ]),
  ];
}

const databaseSecret = (p: Partner) => `hls-partner-${p.id}-database`;
const kurrentSecret = (p: Partner) => `hls-partner-${p.id}-kurrentdb`;

type Doc = Record<string, unknown>;
type App = 'partner-service' | 'projection-service' | 'portal';

const PORT = 3000;
const CONSORTIUM_MOUNT = '/etc/hls';

/** The manifests, by file name, each file a list of documents. */
export function kubernetesManifests(
  consortium: Consortium,
  overrides: Partial<KubernetesOptions> = {},
  /** The consortium file as written (the ConfigMap holds it as it is); default: the parsed file. */
  consortiumJson = `${JSON.stringify(consortium, null, 2)}\n`,
): Map<string, Doc[]> {
  const o = { ...DEFAULT_KUBERNETES_OPTIONS(consortium), ...overrides };
  // A changed consortium file changes the pods' template, so they are replaced and read the new one.
  const consortiumSha = createHash('sha256').update(consortiumJson).digest('hex');
  const partOf = { 'app.kubernetes.io/part-of': consortium.id };
  const meta = (name: string, component: string, extra: Record<string, string> = {}) => ({
    name,
    namespace: o.namespace,
    labels: {
      'app.kubernetes.io/name': name,
      'app.kubernetes.io/component': component,
      ...partOf,
      'app.kubernetes.io/managed-by': 'hls-consortium-kubernetes',
      ...extra,
    },
  });
  const serviceUrl = (name: string) => `http://${name}:${PORT}`;
  const partnerUrls = Object.fromEntries(
    consortium.partners.map((p) => [p.id, serviceUrl(`partner-${p.id}`)]),
  );

  const secret = (name: string, key: string, env: string) => ({
    name: env,
    valueFrom: { secretKeyRef: { name, key } },
  });

  const deployment = (
    name: string,
    app: App,
    spec: {
      replicas: number;
      env: Doc[];
      resources: { requests: Record<string, string>; limits: Record<string, string> };
      strategy: Doc;
      labels?: Record<string, string>;
    },
  ): Doc => {
    const metadata = meta(name, app, spec.labels);
    const selector = { 'app.kubernetes.io/name': name, ...partOf };
    const httpGet = (path: string) => ({ httpGet: { path, port: 'http' } });
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata,
      spec: {
        replicas: spec.replicas,
        selector: { matchLabels: selector },
        strategy: spec.strategy,
        template: {
          metadata: {
            labels: metadata.labels,
            annotations: { 'hls.scot/consortium-sha256': consortiumSha },
          },
          spec: {
            automountServiceAccountToken: false,
            // The image's unprivileged user (node, uid 1000); nothing runs as root.
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 1000,
              runAsGroup: 1000,
              fsGroup: 1000,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            // A service stops its consumers, relay and pools within 10 s of SIGTERM.
            terminationGracePeriodSeconds: 30,
            ...(spec.replicas > 1
              ? {
                  affinity: {
                    podAntiAffinity: {
                      preferredDuringSchedulingIgnoredDuringExecution: [
                        {
                          weight: 100,
                          podAffinityTerm: {
                            topologyKey: 'kubernetes.io/hostname',
                            labelSelector: { matchLabels: selector },
                          },
                        },
                      ],
                    },
                  },
                }
              : {}),
            containers: [
              {
                name: app,
                image: o.image,
                imagePullPolicy: 'IfNotPresent',
                ports: [{ name: 'http', containerPort: PORT, protocol: 'TCP' }],
                envFrom: [{ configMapRef: { name: 'hls-settings' } }],
                env: [{ name: 'APP', value: app }, ...spec.env],
                resources: spec.resources,
                // Migrations run at start: the liveness probe waits until the service has answered once.
                startupProbe: { ...httpGet(PROBE_PATHS.liveness), periodSeconds: 2, failureThreshold: 60 },
                livenessProbe: {
                  ...httpGet(PROBE_PATHS.liveness),
                  periodSeconds: 10,
                  timeoutSeconds: 3,
                  failureThreshold: 3,
                },
                readinessProbe: {
                  ...httpGet(PROBE_PATHS.readiness),
                  periodSeconds: 5,
                  timeoutSeconds: 3,
                  failureThreshold: 2,
                },
                securityContext: {
                  runAsNonRoot: true,
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [
                  { name: 'consortium', mountPath: CONSORTIUM_MOUNT, readOnly: true },
                  // The root file system is read-only: scratch space (Chromium's profile, for PDFs) here.
                  { name: 'tmp', mountPath: '/tmp' },
                  { name: 'home', mountPath: '/home/node' },
                ],
              },
            ],
            volumes: [
              { name: 'consortium', configMap: { name: 'consortium' } },
              { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
              { name: 'home', emptyDir: { sizeLimit: '256Mi' } },
            ],
          },
        },
      },
    };
  };

  const service = (name: string, app: App, labels?: Record<string, string>): Doc => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name, app, labels),
    spec: {
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': name, ...partOf },
      ports: [{ name: 'http', port: PORT, targetPort: 'http', protocol: 'TCP' }],
    },
  });

  const files = new Map<string, Doc[]>();
  files.set('00-namespace.yaml', [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: o.namespace, labels: partOf },
    },
  ]);
  files.set('01-config.yaml', [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('consortium', 'config'),
      data: { 'consortium.json': consortiumJson },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('hls-settings', 'config'),
      data: {
        HLS_CONSORTIUM_FILE: `${CONSORTIUM_MOUNT}/consortium.json`,
        HOST: '0.0.0.0',
        PORT: String(PORT),
        NODE_ENV: 'production',
        KAFKA_BROKERS: o.kafkaBrokers,
        // The topics the services create at start (libs/messaging/src/topics.ts).
        KAFKA_PARTITIONS: String(o.partitions),
        KAFKA_REPLICATION_FACTOR: String(o.replicationFactor),
        ...(o.replicationFactor >= 3 ? { KAFKA_MIN_INSYNC_REPLICAS: '2' } : {}),
        KAFKA_IDEMPOTENT_PRODUCER: 'true',
        HLS_PARTNER_URLS: JSON.stringify(partnerUrls),
        PROJECTION_URL: serviceUrl('projection'),
      },
    },
  ]);

  for (const p of consortium.partners) {
    const name = `partner-${p.id}`;
    const labels = { 'hls.scot/partner': p.id };
    files.set(`${name}.yaml`, [
      deployment(name, 'partner-service', {
        // One instance per partner: its relay is the one reader of its store's log that publishes to Kafka,
        // so an old and a new pod never run side by side (Recreate).
        replicas: 1,
        strategy: { type: 'Recreate' },
        labels,
        env: [
          { name: 'PARTNER_ID', value: p.id },
          secret(databaseSecret(p), 'url', 'DATABASE_URL'),
          ...(p.eventStore === 'kurrentdb' ? [secret(kurrentSecret(p), 'url', 'KURRENTDB_URL')] : []),
          secret('hls-key-service-database', 'url', 'KEY_SERVICE_DATABASE_URL'),
          secret('hls-token-keys', 'token-keys', 'HLS_TOKEN_KEYS'),
          secret('hls-matching-secret', 'matching-secret', 'HLS_MATCHING_SECRET'),
        ],
        resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
      }),
      service(name, 'partner-service', labels),
    ]);
  }

  files.set('projection.yaml', [
    deployment('projection', 'projection-service', {
      // Replicas of one consumer group (<consortium>.projection): Kafka shares the topics' partitions among
      // them and moves a stopped one's partitions to the others. More replicas than partitions sit idle.
      replicas: o.projectionReplicas,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      env: [
        secret('hls-projection-database', 'url', 'DATABASE_URL'),
        secret('hls-key-service-database', 'url', 'KEY_SERVICE_DATABASE_URL'),
        secret('hls-token-keys', 'token-keys', 'HLS_TOKEN_KEYS'),
        secret('hls-evidence-signing-key', 'signing-key', 'HLS_EVIDENCE_SIGNING_KEY'),
      ],
      // Chromium prints evidence packs to PDF here: more memory than the other services.
      resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '2', memory: '1Gi' } },
    }),
    service('projection', 'projection-service'),
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta('projection', 'projection-service'),
      spec: {
        minAvailable: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'projection', ...partOf } },
      },
    },
  ]);

  files.set('portal.yaml', [
    deployment('portal', 'portal', {
      // Users and sessions are in its database: any replica serves any user.
      replicas: o.portalReplicas,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      env: [
        secret('hls-portal-database', 'url', 'DATABASE_URL'),
        secret('hls-token-keys', 'token-keys', 'HLS_TOKEN_KEYS'),
      ],
      resources: { requests: { cpu: '100m', memory: '192Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    }),
    service('portal', 'portal'),
  ]);

  files.set('kustomization.yaml', [
    {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      // `kustomize edit set image hls-consortium=registry.example/hls-consortium:1.2.3` names your build.
      resources: [...files.keys()],
      images: [{ name: o.image.split(':')[0], newTag: o.image.split(':')[1] ?? 'latest' }],
    },
  ]);
  return files;
}

const HEADER =
  '# Generated from the consortium file by `npm run kubernetes` (scripts/kubernetes.ts): do not edit by hand.\n';

export function toYaml(docs: Doc[]): string {
  return HEADER + docs.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

function packageVersion(): string {
  return JSON.parse(readFileSync(resolve(__dirname, '../package.json'), 'utf8')).version as string;
}

/** The consortium file, checked, and its text as written. */
export function readConsortiumFile(file: string): { consortium: Consortium; text: string } {
  const text = readFileSync(file, 'utf8');
  return { consortium: consortiumSchema.parse(JSON.parse(text)), text };
}

/** Writes the manifests to a folder, removing manifests of partners no longer in the file. */
export function writeManifests(dir: string, files: Map<string, Doc[]>): string[] {
  mkdirSync(dir, { recursive: true });
  for (const old of readdirSync(dir)) if (old.endsWith('.yaml') && !files.has(old)) rmSync(join(dir, old));
  for (const [name, docs] of files) writeFileSync(join(dir, name), toYaml(docs));
  return [...files.keys()];
}

export const DEFAULT_MANIFEST_DIR = resolve(__dirname, '../deploy/kubernetes');

if (require.main === module) {
  const program = new Command()
    .name('npm run kubernetes --')
    .description('Writes the Kubernetes manifests of a consortium, generated from its consortium file.')
    .option('--consortium <file>', 'the consortium file', DEFAULT_CONSORTIUM_FILE)
    .option('--out <dir>', 'where to write them', DEFAULT_MANIFEST_DIR)
    .option('--namespace <name>', 'the namespace (default hls-<consortium id>)')
    .option('--image <image>', 'the image of every app')
    .option('--kafka-brokers <list>', "the Kafka cluster's bootstrap addresses, a comma list")
    .option('--replication-factor <n>', 'copies of each partition', (v) => Number.parseInt(v, 10))
    .option('--partitions <n>', 'partitions of each topic', (v) => Number.parseInt(v, 10))
    .option('--projection-replicas <n>', 'instances of the projection service', (v) => Number.parseInt(v, 10))
    .parse();
  const opts = program.opts();
  const { consortium, text } = readConsortiumFile(resolve(opts.consortium));
  const overrides = Object.fromEntries(
    Object.entries({
      namespace: opts.namespace,
      image: opts.image,
      kafkaBrokers: opts.kafkaBrokers,
      replicationFactor: opts.replicationFactor,
      partitions: opts.partitions,
      projectionReplicas: opts.projectionReplicas,
    }).filter(([, v]) => v !== undefined),
  );
  const written = writeManifests(resolve(opts.out), kubernetesManifests(consortium, overrides, text));
  process.stdout.write(`written to ${opts.out}: ${written.join(', ')}\n`);
}
