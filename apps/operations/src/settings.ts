import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Consortium, loadConsortium } from '@app/consortium';
import { brokersFromEnv, KafkaBus } from '@app/messaging';
import { checkSchemaName, EmbeddedPostgres, startEmbeddedPostgres, TokenKeys } from '@app/platform';

/**
 * The tool's settings: the same environment variables the services read (docs/operations.md, "Settings" and
 * "Running the services apart"), each overridden by a flag. With no database named it opens the embedded
 * default's data folder, which only works while the consortium is stopped (PGlite allows one process).
 */
export interface GlobalFlags {
  databaseUrl?: string;
  schemaPrefix?: string;
  consortiumFile?: string;
  brokers?: string;
  dataDir?: string;
}

/** What a command writes: the result to `out`, progress and warnings to `err`. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether `err` is a terminal, where progress bars are drawn. */
  tty: boolean;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  tty: Boolean(process.stderr.isTTY),
};

/** A problem the operator can act on: printed without a stack, exit status 2. */
export class OperatorError extends Error {}

export class OpsContext {
  private embedded: EmbeddedPostgres | null = null;
  private consortiumCache: Consortium | null = null;
  private readonly closers: (() => Promise<unknown>)[] = [];

  constructor(
    readonly flags: GlobalFlags,
    readonly io: Io,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  get consortium(): Consortium {
    if (!this.consortiumCache) {
      const file = this.flags.consortiumFile ?? this.env.HLS_CONSORTIUM_FILE;
      try {
        this.consortiumCache = loadConsortium(file || undefined);
      } catch (e) {
        throw new OperatorError(
          `the consortium file cannot be read (HLS_CONSORTIUM_FILE): ${(e as Error).message}`,
        );
      }
    }
    return this.consortiumCache;
  }

  /** HLS_SCHEMA_PREFIX: the prefix the launcher put before every schema name (none for `npm start`). */
  get prefix(): string {
    return this.flags.schemaPrefix ?? this.env.HLS_SCHEMA_PREFIX ?? '';
  }

  private schemaFrom(variable: string, fallback: string): string {
    const name = this.env[variable]?.trim() || `${this.prefix}${fallback}`.replaceAll('-', '_');
    try {
      return checkSchemaName(name);
    } catch {
      throw new OperatorError(
        `${variable} "${name}" is not a usable schema name (lower case letters, digits and _)`,
      );
    }
  }

  get projectionSchema(): string {
    return this.schemaFrom('PROJECTION_SCHEMA', 'projection');
  }

  get keyServiceSchema(): string {
    return this.schemaFrom('KEY_SERVICE_SCHEMA', 'key_service');
  }

  get portalSchema(): string {
    return this.schemaFrom('PORTAL_SCHEMA', 'portal');
  }

  /** The evidence packs' store, beside the projection: `<projection schema>_evidence`. */
  get evidenceSchema(): string {
    return checkSchemaName(`${this.projectionSchema}_evidence`);
  }

  partnerSchema(partner: string): string {
    this.partner(partner);
    return checkSchemaName(`${this.prefix}partner_${partner}`.replaceAll('-', '_'));
  }

  /** A partner of the consortium file, or a message naming those there are. */
  partner(id: string): string {
    const ids = this.consortium.partners.map((p) => p.id);
    if (!ids.includes(id))
      throw new OperatorError(`"${id}" is not a partner of ${this.consortium.id}: ${ids.join(', ')}`);
    return id;
  }

  /** DATABASE_URL (or --database-url); without one, the embedded database in HLS_DATA_DIR (default ./.data). */
  async databaseUrl(): Promise<string> {
    const url = this.flags.databaseUrl ?? this.env.DATABASE_URL;
    if (url) return url;
    if (!this.embedded) {
      const dir = join(this.flags.dataDir ?? this.env.HLS_DATA_DIR ?? '.data', 'pglite');
      this.io.err(
        `no DATABASE_URL: opening the embedded database in ${dir} (the consortium must be stopped)`,
      );
      this.embedded = await startEmbeddedPostgres(dir);
    }
    return this.embedded.url;
  }

  /** PARTNER_DATABASE_URLS (JSON, partner id to URL) where partners keep their stores apart; else DATABASE_URL. */
  async partnerDatabaseUrl(partner: string): Promise<string> {
    const raw = this.env.PARTNER_DATABASE_URLS;
    if (raw) {
      let urls: Record<string, string>;
      try {
        urls = JSON.parse(raw);
      } catch (e) {
        throw new OperatorError(`PARTNER_DATABASE_URLS is not JSON (${(e as Error).message})`);
      }
      if (urls[partner]) return urls[partner];
    }
    return this.databaseUrl();
  }

  /** KEY_SERVICE_DATABASE_URL, else DATABASE_URL. */
  async keyServiceDatabaseUrl(): Promise<string> {
    return this.env.KEY_SERVICE_DATABASE_URL || this.databaseUrl();
  }

  /** KAFKA_BROKERS or KAFKA_BROKERS_FILE (or --brokers): the tool cannot reach another process's in-process bus. */
  bus(): KafkaBus {
    const brokers = this.flags.brokers
      ? () => (this.flags.brokers as string).split(',')
      : brokersFromEnv(this.env);
    if (!brokers)
      throw new OperatorError(
        'KAFKA_BROKERS is not set (or KAFKA_BROKERS_FILE, or --brokers): this command works on Kafka. ' +
          "The embedded default's in-process bus lives inside the consortium's process and cannot be reached.",
      );
    const bus = new KafkaBus({ clientId: 'hls-consortium', consortiumId: this.consortium.id, brokers });
    this.onClose(() => bus.close());
    return bus;
  }

  /** HLS_PARTNER_URLS: where each partner's service answers. */
  partnerUrls(): Record<string, string> {
    const raw = this.env.HLS_PARTNER_URLS;
    if (!raw) return {};
    try {
      return JSON.parse(raw);
    } catch (e) {
      throw new OperatorError(`HLS_PARTNER_URLS is not JSON (${(e as Error).message})`);
    }
  }

  /**
   * The consortium administrators' token signer: HLS_TOKEN_KEYS, else the embedded default's secrets file.
   * Holding that key is holding the administrators' authority; the tool asks for nothing more.
   */
  adminSigner(): { organisation: string; keys: TokenKeys } {
    const organisation = `${this.consortium.id}-admin`;
    let keys: Record<string, string> | null = null;
    if (this.env.HLS_TOKEN_KEYS) {
      try {
        keys = JSON.parse(this.env.HLS_TOKEN_KEYS);
      } catch (e) {
        throw new OperatorError(`HLS_TOKEN_KEYS is not JSON (${(e as Error).message})`);
      }
    } else {
      const file = join(this.flags.dataDir ?? this.env.HLS_DATA_DIR ?? '.data', 'secrets.json');
      try {
        keys = JSON.parse(readFileSync(file, 'utf8')).tokenKeys;
      } catch {
        keys = null;
      }
    }
    if (!keys?.[organisation])
      throw new OperatorError(
        `no key for ${organisation} in HLS_TOKEN_KEYS (or the secrets file): the administrators' key is needed, ` +
          'or give an administrator token with --token',
      );
    return { organisation, keys: new TokenKeys(keys) };
  }

  onClose(close: () => Promise<unknown>): void {
    this.closers.push(close);
  }

  async close(): Promise<void> {
    for (const close of this.closers.reverse()) await close().catch(() => undefined);
    this.closers.length = 0;
    await this.embedded?.stop();
    this.embedded = null;
  }
}
