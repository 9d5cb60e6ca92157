import 'reflect-metadata';
import { loadConsortium } from '@app/consortium';
import { createPool } from '@app/platform';
import { generatePlace } from './place-generator';
import { progress } from './report';

/**
 * Writes a generated place into a database, for trying the views or the evidence on a place of some size:
 *
 *   npx ts-node --swc -r tsconfig-paths/register bench/generate-place.ts [events] [schema prefix] [seed]
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); HLS_CONSORTIUM_FILE as for npm start.
 * Then `DATABASE_URL=… npm start` with the same prefix (or the services with their schemas) serves it.
 */
async function main() {
  const [events = '100000', schemaPrefix = 'place_', seed = '1'] = process.argv.slice(2);
  const pool = createPool(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', 6);
  let shown = 0;
  try {
    const counts = await generatePlace({
      pool,
      consortium: loadConsortium(process.env.HLS_CONSORTIUM_FILE || undefined),
      schemaPrefix,
      events: Number(events),
      seed: Number(seed),
      onProgress: (written, total) => {
        if (written - shown >= total / 10) {
          shown = written;
          progress(`place: ${written.toLocaleString('en-GB')} of ${total.toLocaleString('en-GB')} events`);
        }
      },
    });
    process.stdout.write(`${JSON.stringify(counts, null, 2)}\n`);
  } finally {
    await pool.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
