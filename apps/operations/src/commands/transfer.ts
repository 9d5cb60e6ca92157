import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { checkpointOf, LOG_START, PostgresEventStore, RecordedEvent } from '@app/event-store';
import { createPool } from '@app/platform';
import { Command } from 'commander';
import { Pool } from 'pg';
import { progressBar } from '../progress';
import { OperatorError, OpsContext } from '../settings';
import { Act, positiveInt } from './act';

/**
 * `export` and `import`: moving a partner's event store to another server. The file is NDJSON: a header line,
 * one line per event in log order with its hash, and a last line with the count and the SHA-256 of every event
 * line before it, so a file cut short or changed is refused. Import writes the events with their positions,
 * ids, times and hashes as they were, in one transaction, recomputes the hash chain there, and commits only if
 * every event matches its hash: the store on the new server is the same record, and evidence packs computed
 * from the old one still verify against it.
 */
export const EXPORT_FORMAT = 'hls-consortium/event-store-export';

export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  version: 1;
  consortium: string;
  partner: string;
  exportedAt: string;
}

export interface ExportTrailer {
  end: true;
  events: number;
  /** SHA-256 (hex) over every event line, each with its newline. */
  sha256: string;
}

interface ExportedEvent {
  position: number;
  streamId: string;
  version: number;
  id: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: unknown;
  recordedAt: string;
  hash: string;
}

export function exportCommand(act: Act): Command {
  return new Command('export')
    .summary("write a partner's event store to a file, to move it to another server")
    .description(
      "Streams every event of the partner's store, in log order with its hash, to an NDJSON file: a header, an " +
        'event a line, and a last line with the count and a SHA-256 of the events. Stop the partner service first ' +
        '(or at least its writes): events recorded during the export may not be in the file.',
    )
    .requiredOption('--partner <id>', 'the partner whose store to export')
    .argument('<file>', 'the file to write')
    .option('--batch-size <events>', 'events per read', positiveInt, 2000)
    .action(act(exportStore));
}

export function importCommand(act: Act): Command {
  return new Command('import')
    .summary("load a partner's event store from an export file into an empty store")
    .description(
      "Writes the events of an export file into the partner's store on this server (DATABASE_URL or " +
        'PARTNER_DATABASE_URLS), with their positions, ids, times and hashes, in one transaction; checks the ' +
        "file's digest and recomputes the hash chain before committing. Refuses a store that holds any event, a " +
        'file of another partner or consortium, and a file cut short or altered: then nothing is written.',
    )
    .requiredOption('--partner <id>', 'the partner whose store to load')
    .argument('<file>', 'the export file')
    .option('--batch-size <events>', 'events per insert', positiveInt, 2000)
    .action(act(importStore));
}

async function partnerStore(ctx: OpsContext, partner: string): Promise<{ pool: Pool; schema: string }> {
  ctx.partner(partner);
  const pool = createPool(await ctx.partnerDatabaseUrl(partner), 2);
  ctx.onClose(() => pool.end());
  return { pool, schema: ctx.partnerSchema(partner) };
}

async function exportStore(ctx: OpsContext, file: string, flags: { partner: string; batchSize: number }) {
  const { pool, schema } = await partnerStore(ctx, flags.partner);
  const { rows } = await pool.query('SELECT to_regclass($1) IS NOT NULL AS present', [`${schema}.events`]);
  if (!rows[0].present) throw new OperatorError(`${flags.partner}'s event store is not in schema ${schema}`);
  const total = Number((await pool.query(`SELECT count(*) AS n FROM ${schema}.events`)).rows[0].n);
  const store = await PostgresEventStore.open({ pool, schema });
  const out = createWriteStream(file, { flags: 'wx' });
  const opened = once(out, 'open');
  out.on('error', () => undefined);
  try {
    await opened;
  } catch (e) {
    throw new OperatorError(
      `cannot write ${file}: ${(e as Error).message} (an export never overwrites a file)`,
    );
  }
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const header: ExportHeader = {
    format: EXPORT_FORMAT,
    version: 1,
    consortium: ctx.consortium.id,
    partner: flags.partner,
    exportedAt: new Date().toISOString(),
  };
  await write(`${JSON.stringify(header)}\n`);
  const digest = createHash('sha256');
  const bar = progressBar(ctx.io, `export ${flags.partner}`, total);
  let events = 0;
  try {
    for (let at = LOG_START; ; ) {
      const batch = await store.readLog(at, flags.batchSize);
      if (batch.length === 0) break;
      at = checkpointOf(batch[batch.length - 1]);
      let text = '';
      for (const e of batch) text += `${JSON.stringify(exported(e))}\n`;
      digest.update(text);
      await write(text);
      events += batch.length;
      bar.update(events, Math.max(total, events));
    }
  } finally {
    bar.stop();
  }
  const trailer: ExportTrailer = { end: true, events, sha256: digest.digest('hex') };
  out.end(`${JSON.stringify(trailer)}\n`);
  await once(out, 'finish');
  ctx.io.out(
    `exported ${events.toLocaleString('en-GB')} events of ${flags.partner} to ${file} (sha256 ${trailer.sha256})`,
  );
  return 0;
}

const exported = (e: RecordedEvent): ExportedEvent => ({
  position: Number(e.position),
  streamId: e.streamId,
  version: e.version,
  id: e.id,
  type: e.type,
  schemaVersion: e.schemaVersion,
  data: e.data,
  metadata: e.metadata,
  recordedAt: e.recordedAt,
  hash: e.hash,
});

async function importStore(ctx: OpsContext, file: string, flags: { partner: string; batchSize: number }) {
  if (!existsSync(file)) throw new OperatorError(`${file} does not exist`);
  const { pool, schema } = await partnerStore(ctx, flags.partner);
  // Made (or brought up to date) as the partner service would make it, so its tables are the code's own.
  await (await PostgresEventStore.open({ pool, schema })).close();
  const client = await pool.connect();
  let lines: ReturnType<typeof createInterface> | null = null;
  const bar = progressBar(ctx.io, `import ${flags.partner}`, 0);
  try {
    await client.query('BEGIN');
    // Held to the end: nothing else may write into the store while it is loaded.
    await client.query(`LOCK TABLE ${schema}.events IN EXCLUSIVE MODE`);
    const { rows } = await client.query(`SELECT count(*)::bigint AS n FROM ${schema}.events`);
    if (Number(rows[0].n) > 0)
      throw new OperatorError(
        `${flags.partner}'s store in ${schema} already holds ${rows[0].n} events: import only into an empty store`,
      );
    let header: ExportHeader | null = null;
    let trailer: ExportTrailer | null = null;
    const digest = createHash('sha256');
    let batch: ExportedEvent[] = [];
    let events = 0;
    let lineNo = 0;
    const flush = async () => {
      if (!batch.length) return;
      await client.query(
        `INSERT INTO ${schema}.events
           (position, stream_id, version, event_id, event_type, schema_version, data, metadata, recorded_at, hash)
         SELECT e.position, e."streamId", e.version, e.id, e.type, e."schemaVersion", e.data, e.metadata,
                e."recordedAt", decode(e.hash, 'hex')
           FROM jsonb_to_recordset($1::jsonb) AS e(position bigint, "streamId" text, version int, id uuid, type text,
                "schemaVersion" int, data jsonb, metadata jsonb, "recordedAt" timestamptz, hash text)
          ORDER BY e.position`,
        [JSON.stringify(batch)],
      );
      events += batch.length;
      batch = [];
      bar.update(events, events);
    };
    // Made only now, right before it is read: lines read while nothing iterates would be lost.
    lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      lineNo++;
      if (!line.trim()) continue;
      if (trailer) throw new OperatorError(`${file}: line ${lineNo} comes after the last line`);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new OperatorError(`${file}: line ${lineNo} is not JSON`);
      }
      if (!header) {
        header = checkHeader(parsed, file, ctx.consortium.id, flags.partner);
        continue;
      }
      if (parsed.end === true) {
        trailer = parsed as unknown as ExportTrailer;
        continue;
      }
      digest.update(`${line}\n`);
      batch.push(parsed as unknown as ExportedEvent);
      if (batch.length >= flags.batchSize) await flush();
    }
    await flush();
    if (!header) throw new OperatorError(`${file} is empty`);
    if (!trailer) throw new OperatorError(`${file} has no last line: it was cut short`);
    const sha256 = digest.digest('hex');
    if (trailer.events !== events || trailer.sha256 !== sha256)
      throw new OperatorError(
        `${file} does not match its last line (${events} events, sha256 ${sha256}; the file says ${trailer.events}, ` +
          `${trailer.sha256}): it was changed or damaged`,
      );
    // Every event's hash recomputed from its content and its stream predecessor, as verifyRange does.
    const { rows: altered } = await client.query(
      `SELECT e.position FROM ${schema}.events e
         LEFT JOIN ${schema}.events p ON p.stream_id = e.stream_id AND p.version = e.version - 1
        WHERE e.hash <> ${schema}.event_hash(coalesce(p.hash, '\\x'::bytea), e.event_id, e.event_type,
                e.schema_version, e.data, e.metadata)
           OR (e.version > 0 AND p.position IS NULL)
        ORDER BY 1 LIMIT 20`,
    );
    if (altered.length)
      throw new OperatorError(
        `the hash chain does not hold at positions ${altered.map((r) => r.position).join(', ')}: nothing was imported`,
      );
    await client.query(
      `SELECT setval(pg_get_serial_sequence('${schema}.events', 'position'), greatest((SELECT max(position) FROM ${schema}.events), 1))`,
    );
    await client.query('COMMIT');
    ctx.io.out(
      `imported ${events.toLocaleString('en-GB')} events of ${flags.partner} into ${schema}; the hash chain holds`,
    );
    ctx.io.out(
      "the partner's relay will publish the whole log again at its first start (consumers skip what they have)",
    );
    return 0;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    if ((e as { code?: string }).code === '23505')
      throw new OperatorError(`${file} holds an event twice (${(e as Error).message}): nothing was imported`);
    throw e;
  } finally {
    bar.stop();
    lines?.close();
    client.release();
  }
}

function checkHeader(
  h: Record<string, unknown>,
  file: string,
  consortium: string,
  partner: string,
): ExportHeader {
  if (h.format !== EXPORT_FORMAT || h.version !== 1)
    throw new OperatorError(
      `${file} is not an event store export of this platform (format ${String(h.format)})`,
    );
  if (h.consortium !== consortium)
    throw new OperatorError(`${file} is an export of consortium ${String(h.consortium)}, not ${consortium}`);
  if (h.partner !== partner)
    throw new OperatorError(`${file} is ${String(h.partner)}'s store, not ${partner}'s`);
  return h as unknown as ExportHeader;
}
