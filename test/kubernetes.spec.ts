import 'reflect-metadata';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Consortium } from '@app/consortium';
import { consortiumTopics, topicSettingsFromEnv } from '@app/messaging';
import { HealthController } from '@app/platform';
import { PATH_METADATA } from '@nestjs/common/constants';
import { parseAllDocuments } from 'yaml';
import {
  DEFAULT_MANIFEST_DIR,
  kubernetesManifests,
  PROBE_PATHS,
  readConsortiumFile,
  secretsOf,
  toYaml,
} from '../scripts/kubernetes';

/**
 * The Kubernetes manifests in deploy/kubernetes/: generated from the consortium file (so they never drift from
 * it), every document valid against the Kubernetes schemas (kubernetes-models, offline), and what running a
 * consortium safely needs: a Deployment per partner, probes, resources, no root, secrets by name only.
 */
const ROOT = resolve(__dirname, '..');
const { consortium, text } = readConsortiumFile(join(ROOT, 'consortium/north-edinburgh.json'));

// biome-ignore lint/suspicious/noExplicitAny: manifests are read loosely; the Kubernetes schemas check their shape
type Loose = any;
type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Loose;
  data?: Record<string, string>;
};

/** The committed files, parsed: file name -> its documents. */
function committed(): Map<string, Doc[]> {
  return new Map(
    readdirSync(DEFAULT_MANIFEST_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => [
        f,
        parseAllDocuments(readFileSync(join(DEFAULT_MANIFEST_DIR, f), 'utf8')).map((d) => d.toJS() as Doc),
      ]),
  );
}

const docs = () => [...committed().values()].flat().filter((d) => d.kind !== 'Kustomization');
const ofKind = (kind: string) => docs().filter((d) => d.kind === kind);
const deployments = () => ofKind('Deployment');
const containers = (d: Doc) => d.spec.template.spec.containers as Record<string, Loose>[];
const envOf = (d: Doc) => Object.fromEntries(containers(d)[0].env.map((e: Loose) => [e.name, e]));

/** The kubernetes-models class for a document's apiVersion and kind (CommonJS, as the package ships). */
function modelOf(doc: Doc): new (d: Doc) => { validate(): void } {
  const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : ['', doc.apiVersion];
  const dir = group ? `${group}/${version}` : version;
  const mod = require(`kubernetes-models/${dir}`) as Record<string, Loose>;
  if (!mod[doc.kind]) throw new Error(`kubernetes-models has no ${doc.apiVersion} ${doc.kind}`);
  return mod[doc.kind];
}

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  it('are what the generator makes of the consortium file now (npm run kubernetes rewrites them)', () => {
    const generated = kubernetesManifests(consortium, {}, text);
    const files = readdirSync(DEFAULT_MANIFEST_DIR).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual([...generated.keys()].sort());
    for (const [name, documents] of generated)
      expect({ name, yaml: readFileSync(join(DEFAULT_MANIFEST_DIR, name), 'utf8') }).toEqual({
        name,
        yaml: toYaml(documents),
      });
  });

  it('every document is valid against the Kubernetes schemas', () => {
    const all = docs();
    expect(all.length).toBeGreaterThan(10);
    for (const doc of all) {
      const Model = modelOf(doc);
      expect(() => new Model(doc).validate()).not.toThrow();
    }
  });

  it('a schema violation is caught (the check can fail)', () => {
    const broken = structuredClone(deployments()[0]);
    delete broken.spec.selector;
    const Model = modelOf(broken);
    expect(() => new Model(broken).validate()).toThrow(/selector/);
  });

  it('runs one Deployment per partner in the consortium file, each with its own database secret', () => {
    const partners = deployments().filter((d) => envOf(d).APP?.value === 'partner-service');
    expect(partners.map((d) => d.metadata.name).sort()).toEqual(
      consortium.partners.map((p) => `partner-${p.id}`).sort(),
    );
    const databaseSecrets = new Set<string>();
    for (const d of partners) {
      const env = envOf(d);
      expect(d.metadata.name).toBe(`partner-${env.PARTNER_ID.value}`);
      expect(d.spec.replicas).toBe(1);
      // One relay per store: an old pod is gone before the new one starts.
      expect(d.spec.strategy.type).toBe('Recreate');
      databaseSecrets.add(env.DATABASE_URL.valueFrom.secretKeyRef.name);
      for (const name of ['KEY_SERVICE_DATABASE_URL', 'HLS_TOKEN_KEYS', 'HLS_MATCHING_SECRET'])
        expect({ name, from: env[name]?.valueFrom?.secretKeyRef?.name }).toEqual({
          name,
          from: expect.any(String),
        });
    }
    expect(databaseSecrets.size).toBe(consortium.partners.length);
  });

  it('follows the consortium file: a partner added there is a Deployment and a Service more', () => {
    const bigger: Consortium = {
      ...consortium,
      partners: [...consortium.partners, { id: 'granton-hub', name: 'Granton Hub', eventStore: 'kurrentdb' }],
    };
    const files = kubernetesManifests(bigger);
    const added = files.get('partner-granton-hub.yaml') as Doc[];
    expect(added.map((d) => d.kind)).toEqual(['Deployment', 'Service']);
    const env = envOf(added[0]);
    expect(env.KURRENTDB_URL.valueFrom.secretKeyRef.name).toBe('hls-partner-granton-hub-kurrentdb');
    const settings = (files.get('01-config.yaml') as Doc[])[1].data as Record<string, string>;
    expect(JSON.parse(settings.HLS_PARTNER_URLS)['granton-hub']).toBe('http://partner-granton-hub:3000');
    for (const doc of [...files.values()].flat().filter((d) => d.kind !== 'Kustomization')) {
      const Model = modelOf(doc as Doc);
      expect(() => new Model(doc as Doc).validate()).not.toThrow();
    }
  });

  it('runs the projection service as one Deployment of two replicas (one consumer group), and the portal', () => {
    const projection = deployments().find((d) => d.metadata.name === 'projection') as Doc;
    expect(envOf(projection).APP.value).toBe('projection-service');
    expect(projection.spec.replicas).toBe(2);
    // The same group for every replica: none is given a group of its own.
    expect(envOf(projection).PROJECTION_GROUP).toBeUndefined();
    const budget = ofKind('PodDisruptionBudget').find((d) => d.metadata.name === 'projection');
    expect(budget?.spec.minAvailable).toBe(1);
    const portal = deployments().find((d) => d.metadata.name === 'portal') as Doc;
    expect(envOf(portal).APP.value).toBe('portal');
    expect(envOf(portal).HLS_SECURE_COOKIES).toBeUndefined(); // secure cookies: served behind TLS
  });

  it('every container runs the one image, the app chosen by APP, with probes on the health route', () => {
    const images = new Set<string>();
    for (const d of deployments())
      for (const c of containers(d)) {
        images.add(c.image);
        expect(['partner-service', 'projection-service', 'portal']).toContain(envOf(d).APP.value);
        const port = c.ports.find((p: { name: string }) => p.name === 'http');
        expect(port?.containerPort).toBe(3000);
        for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'])
          expect({ d: d.metadata.name, probe, port: c[probe]?.httpGet?.port }).toEqual({
            d: d.metadata.name,
            probe,
            port: 'http',
          });
        expect(c.livenessProbe.httpGet.path).toBe(PROBE_PATHS.liveness);
        expect(c.readinessProbe.httpGet.path).toBe(PROBE_PATHS.readiness);
      }
    expect([...images]).toEqual([`hls-consortium:${require('../package.json').version}`]);
  });

  it('the probes call routes every service serves (the platform’s HealthController)', () => {
    const base = Reflect.getMetadata(PATH_METADATA, HealthController) as string;
    const routes = Object.getOwnPropertyNames(HealthController.prototype)
      .map(
        (m) =>
          Reflect.getMetadata(
            PATH_METADATA,
            (HealthController.prototype as unknown as Record<string, object>)[m],
          ) as string | undefined,
      )
      .filter((p) => p !== undefined)
      .map((p) => `/${base}${p === '/' ? '' : `/${p}`}`);
    expect(routes).toEqual(expect.arrayContaining([PROBE_PATHS.liveness, PROBE_PATHS.readiness]));
  });

  it('every container asks for CPU and memory and has a memory limit', () => {
    for (const d of deployments())
      for (const c of containers(d)) {
        expect({ d: d.metadata.name, requests: Object.keys(c.resources.requests).sort() }).toEqual({
          d: d.metadata.name,
          requests: ['cpu', 'memory'],
        });
        expect(c.resources.limits.memory).toMatch(/^\d+(Mi|Gi)$/);
      }
  });

  it('nothing runs as root or can become root; the root file system is read-only', () => {
    for (const d of deployments()) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).not.toBe(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of containers(d))
        expect(c.securityContext).toMatchObject({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
    }
  });

  it('holds no secret: Secrets are referenced by name, each one the deployment guide says how to make', () => {
    expect(ofKind('Secret')).toEqual([]);
    const guide = readFileSync(join(ROOT, 'docs/deployment.md'), 'utf8');
    const referenced = new Set<string>();
    for (const d of deployments())
      for (const c of containers(d))
        for (const e of c.env) {
          if (e.valueFrom?.secretKeyRef)
            referenced.add(`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
          // A secret's value never sits in a manifest: these variables come only from Secrets.
          if (/TOKEN_KEYS|SECRET|SIGNING_KEY|DATABASE_URL/.test(e.name))
            expect(e.valueFrom?.secretKeyRef).toBeDefined();
        }
    expect([...referenced].sort()).toEqual(
      secretsOf(consortium)
        .map((s) => `${s.name}/${s.key}`)
        .sort(),
    );
    for (const s of secretsOf(consortium).filter((s) => !s.name.startsWith('hls-partner-')))
      expect({ secret: s.name, documented: guide.includes(s.name) }).toEqual({
        secret: s.name,
        documented: true,
      });
    expect(guide).toContain('hls-partner-<id>-database');
  });

  it('each Service selects its Deployment’s pods, and the services find each other by those names', () => {
    const services = ofKind('Service');
    for (const d of deployments()) {
      const s = services.find((x) => x.metadata.name === d.metadata.name);
      expect(s).toBeDefined();
      expect(d.spec.template.metadata.labels).toMatchObject(s?.spec.selector);
      expect(d.spec.selector.matchLabels).toEqual(s?.spec.selector);
    }
    const settings = ofKind('ConfigMap').find((c) => c.metadata.name === 'hls-settings')?.data ?? {};
    for (const url of [...Object.values(JSON.parse(settings.HLS_PARTNER_URLS)), settings.PROJECTION_URL])
      expect(services.map((s) => `http://${s.metadata.name}:3000`)).toContain(url);
    const consortiumMap = ofKind('ConfigMap').find((c) => c.metadata.name === 'consortium');
    expect(consortiumMap?.data?.['consortium.json']).toBe(text);
  });

  it('configures the topics as the compose file does: 3 copies, 2 in sync for a write, idempotent producers', () => {
    const settings = ofKind('ConfigMap').find((c) => c.metadata.name === 'hls-settings')?.data ?? {};
    const topics = topicSettingsFromEnv(settings);
    expect(topics).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 2, idempotentProducer: true });
    expect(topics.partitions).toBeGreaterThanOrEqual(2); // at least one partition per projection replica
    for (const spec of consortiumTopics(consortium.id, topics))
      expect(spec.configs['min.insync.replicas']).toBe('2');
  });
});
