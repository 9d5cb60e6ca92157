import { createPrivateKey } from 'node:crypto';
import { Consortium, loadConsortium } from '@app/consortium';
import { brokersFromEnv } from '@app/messaging';
import { configureObservabilityFromEnv } from '@app/observability';
import { checkSchemaName } from '@app/platform';
import { organisationsOf, signingKeyFrom } from './secrets';

/**
 * Settings for one service run on its own (the distributed deployment: docker-compose.yml), read from the
 * environment. Every problem is collected, so that one failed start names every variable to fix.
 */
export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`the environment is not complete:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'EnvError';
  }
}

/** A token signing key or the matching secret: HS256 and HMAC-SHA-256 keys of at least 256 bits (RFC 7518 3.2). */
const MIN_SECRET_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;
export const MAKE_SECRET =
  "node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\"";

/** The schema a partner's store gets when none is named: the same as in the one-process default. */
export const defaultPartnerSchema = (partnerId: string) => `partner_${partnerId.replaceAll('-', '_')}`;

export class ServiceEnv {
  private readonly problems: string[] = [];
  readonly warnings: string[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  problem(message: string): void {
    this.problems.push(message);
  }

  required(name: string, what: string): string {
    const value = this.env[name]?.trim();
    if (!value) this.problem(`${name} is not set: ${what}`);
    return value ?? '';
  }

  optional(name: string, fallback: string): string {
    return this.env[name]?.trim() || fallback;
  }

  /** A schema name, checked now rather than at the first SQL statement. */
  schema(name: string, fallback: string): string {
    const value = this.optional(name, fallback);
    try {
      return checkSchemaName(value);
    } catch {
      this.problem(`${name} "${value}" is not a usable schema name (lower case letters, digits and _)`);
      return value;
    }
  }

  port(name = 'PORT', fallback = 3000): number {
    const raw = this.optional(name, String(fallback));
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      this.problem(`${name} "${raw}" is not a port number (0 to 65535)`);
    return port;
  }

  host(name = 'HOST', fallback = '0.0.0.0'): string {
    return this.optional(name, fallback);
  }

  /** A service run apart always uses Kafka: the in-process bus cannot reach another process. */
  kafkaBrokers(): () => string[] {
    const brokers = brokersFromEnv(this.env);
    if (!brokers) {
      this.problem(
        'KAFKA_BROKERS is not set: the Kafka brokers as a comma list, e.g. kafka-1:9092,kafka-2:9092 ' +
          '(or KAFKA_BROKERS_FILE, a file that holds such a list)',
      );
      return () => [];
    }
    return brokers;
  }

  /** HLS_TOKEN_KEYS: a JSON object from organisation id to its base64url token signing key. */
  tokenKeys(consortium: Consortium | null): Record<string, string> {
    const raw = this.required(
      'HLS_TOKEN_KEYS',
      'a JSON object from organisation id to its base64url token signing key',
    );
    if (!raw) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (e) {
      this.problem(`HLS_TOKEN_KEYS is not JSON (${(e as Error).message})`);
      return {};
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || !Object.keys(parsed).length) {
      this.problem(
        'HLS_TOKEN_KEYS must be a JSON object with a key per organisation, e.g. {"fresh-start":"…"}',
      );
      return {};
    }
    const keys: Record<string, string> = {};
    for (const [org, secret] of Object.entries(parsed)) {
      if (typeof secret === 'string' && this.isSecret(secret)) keys[org] = secret;
      else
        this.problem(
          `HLS_TOKEN_KEYS["${org}"] is not a base64url key of at least ${MIN_SECRET_BYTES} bytes; make one with ${MAKE_SECRET}`,
        );
    }
    const missing = consortium ? organisationsOf(consortium).filter((o) => !(o in keys)) : [];
    if (missing.length)
      this.warnings.push(
        `HLS_TOKEN_KEYS has no key for ${missing.join(', ')}: their users cannot sign in here`,
      );
    return keys;
  }

  /** HLS_EVIDENCE_SIGNING_KEY: the Ed25519 key (PKCS #8 PEM, or base64 of it) that signs evidence packs. */
  evidenceSigningKey(): string {
    const key = signingKeyFrom(
      this.required(
        'HLS_EVIDENCE_SIGNING_KEY',
        'the Ed25519 private key (PKCS #8 PEM, or base64 of the PEM) that signs evidence packs',
      ),
    );
    try {
      if (key) createPrivateKey(key);
    } catch (e) {
      this.problem(`HLS_EVIDENCE_SIGNING_KEY is not a private key (${(e as Error).message})`);
    }
    return key ?? '';
  }

  /** HLS_PARTNER_URLS: a JSON object from partner id to the address of its service. */
  partnerUrls(consortium: Consortium | null): Record<string, string> {
    const raw = this.required(
      'HLS_PARTNER_URLS',
      'JSON from partner id to its service address, e.g. {"fresh-start":"http://fresh-start:3000"}',
    );
    let urls: Record<string, string> = {};
    try {
      urls = raw ? JSON.parse(raw) : {};
    } catch (e) {
      this.problem(`HLS_PARTNER_URLS is not JSON (${(e as Error).message})`);
    }
    const missing = (consortium?.partners ?? []).map((p) => p.id).filter((p) => typeof urls[p] !== 'string');
    if (raw && missing.length) this.problem(`HLS_PARTNER_URLS has no address for ${missing.join(', ')}`);
    return urls;
  }

  /** HLS_MATCHING_SECRET: the base64url secret of the keyed hash that matches a person across partners. */
  matchingSecret(): Buffer {
    const raw = this.required(
      'HLS_MATCHING_SECRET',
      'the base64url secret of the keyed hash that matches a person across partners (the same for every partner)',
    );
    if (raw && !this.isSecret(raw))
      this.problem(
        `HLS_MATCHING_SECRET is not a base64url secret of at least ${MIN_SECRET_BYTES} bytes; make one with ${MAKE_SECRET}`,
      );
    return Buffer.from(raw, 'base64url');
  }

  /** The consortium file: HLS_CONSORTIUM_FILE, else the default one in consortium/. */
  consortium(): Consortium | null {
    try {
      return loadConsortium(this.env.HLS_CONSORTIUM_FILE || undefined);
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message;
      this.problem(`the consortium file cannot be read (HLS_CONSORTIUM_FILE): ${why}`);
      return null;
    }
  }

  /** Throws one error naming every problem found so far. */
  check(): void {
    if (this.problems.length) throw new EnvError(this.problems);
  }

  private isSecret(value: string): boolean {
    return BASE64URL.test(value) && Buffer.from(value, 'base64url').length >= MIN_SECRET_BYTES;
  }
}

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Runs a service as a process: exit code 1 with a clear message when it cannot start; on SIGTERM or SIGINT it
 * stops (HTTP, consumers, relay, pools) and exits 0, or exits 1 if stopping takes longer than stopTimeoutMs.
 *
 * The handlers stay registered (process.on, not once): Nest's own shutdown hooks re-send the signal to the
 * process once they have run, and that second signal must not end the process before the stop completes.
 */
export function runService(
  name: string,
  start: () => Promise<Stoppable>,
  options: { stopTimeoutMs?: number } = {},
): void {
  let stopping = false;
  // JSON logs at info, spans to the exporter HLS_TRACE_EXPORTER names, /metrics behind HLS_METRICS_TOKEN if set.
  configureObservabilityFromEnv();
  const started = start();
  started.catch((e: unknown) => {
    if (e instanceof EnvError) console.error(`${name} cannot start: ${e.message}`);
    else console.error(`${name} failed to start:`, e);
    process.exit(1);
  });
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`${name}: ${signal} received, stopping`);
    setTimeout(() => {
      console.error(`${name}: did not stop within ${options.stopTimeoutMs ?? 10000} ms; exiting`);
      process.exit(1);
    }, options.stopTimeoutMs ?? 10000).unref();
    started
      .then((running) => running.stop())
      .then(
        () => {
          console.log(`${name}: stopped`);
          process.exit(0);
        },
        (e: unknown) => {
          console.error(`${name}: stopping failed:`, e);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

/**
 * Starts a service on resources opened for it (pools, the bus): they are released when it stops, and at once
 * if it fails to start, so a failed start leaves nothing open.
 */
export async function startWithResources(
  release: () => Promise<void>,
  start: () => Promise<Stoppable>,
): Promise<Stoppable> {
  try {
    const service = await start();
    return {
      async stop() {
        await service.stop();
        await release();
      },
    };
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  }
}
