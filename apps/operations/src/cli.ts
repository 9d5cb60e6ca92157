import { Command, CommanderError } from 'commander';
import { actWith } from './commands/act';
import { deadLettersCommand } from './commands/dead-letters';
import { eraseCommand } from './commands/erase';
import { migrateCommand } from './commands/migrate';
import { rebuildCommand } from './commands/rebuild';
import { republishCommand } from './commands/republish';
import { exportCommand, importCommand } from './commands/transfer';
import { verifyPackSubcommand } from './commands/verify-pack';
import { Io, processIo } from './settings';

const SETTINGS = `
Settings come from the same environment variables the services read, each overridden by a flag:
  DATABASE_URL               the database (the projection's, and every store's unless named apart); without
                             it, the embedded default's data folder HLS_DATA_DIR (default ./.data), only while
                             the consortium is stopped
  PARTNER_DATABASE_URLS      JSON, partner id to the database of its store, where partners keep them apart
  KEY_SERVICE_DATABASE_URL   the key service's database, if apart
  HLS_SCHEMA_PREFIX          the prefix before every schema name (none for npm start)
  PROJECTION_SCHEMA, KEY_SERVICE_SCHEMA   as the services read them
  KAFKA_BROKERS or KAFKA_BROKERS_FILE     Kafka, for dead-letters and republish
  HLS_CONSORTIUM_FILE        the consortium file
  HLS_PARTNER_URLS           JSON, partner id to its service's address (erase, verify-pack)
  HLS_PROJECTION_URL         the projection service's address (verify-pack)
  HLS_TOKEN_KEYS             the token signing keys; the administrators' one lets erase act as an administrator

Exit status: 0 done; 1 it ran and found something wrong; 2 it could not run (the message says why).`;

function version(): string {
  try {
    return require('../../../package.json').version as string;
  } catch {
    return 'unknown';
  }
}

/** The command-line tool for the people who operate a consortium: `hls-consortium <command> --help`. */
export function buildProgram(io: Io = processIo, env: NodeJS.ProcessEnv = process.env) {
  let code = 0;
  const act = actWith(io, env, (c) => {
    code = c;
  });
  const program = new Command('hls-consortium')
    .version(version(), '-V, --version', 'the version of the platform this tool belongs to')
    .description(
      'Operates an HLS consortium: rebuilds, dead letters, erasure, evidence, moving stores, migrations.',
    )
    .option('--database-url <url>', 'the database (default DATABASE_URL)')
    .option('--schema-prefix <prefix>', 'the prefix before every schema name (default HLS_SCHEMA_PREFIX)')
    .option('--consortium-file <file>', 'the consortium file (default HLS_CONSORTIUM_FILE)')
    .option('--brokers <list>', 'Kafka brokers, comma-separated (default KAFKA_BROKERS)')
    .option('--data-dir <dir>', "the embedded default's data folder (default HLS_DATA_DIR or ./.data)")
    .addHelpText('after', SETTINGS)
    .showHelpAfterError('(add --help for the options)')
    .configureOutput({ writeOut: (t) => io.out(t.trimEnd()), writeErr: (t) => io.err(t.trimEnd()) })
    .exitOverride();
  for (const command of [
    rebuildCommand(act),
    deadLettersCommand(act),
    eraseCommand(act),
    verifyPackSubcommand(act),
    republishCommand(act),
    exportCommand(act),
    importCommand(act),
    migrateCommand(act),
  ])
    program.addCommand(command);
  // Subcommands print their help and errors as the program does, and never end the process themselves.
  const configure = (c: Command) => {
    c.configureOutput({ writeOut: (t) => io.out(t.trimEnd()), writeErr: (t) => io.err(t.trimEnd()) })
      .exitOverride()
      .showHelpAfterError('(add --help for the options)');
    c.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return { program, code: () => code };
}

/** Runs the tool on arguments (without node and the script); answers the exit status. */
export async function runCli(argv: string[], io: Io = processIo, env: NodeJS.ProcessEnv = process.env) {
  const { program, code } = buildProgram(io, env);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code();
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
