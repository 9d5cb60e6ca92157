import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { verifyPackCommand } from '../../../../scripts/verify-pack';
import { OperatorError, OpsContext } from '../settings';
import { Act } from './act';

/** `verify-pack <id|file>`: the check `npm run verify-pack` makes, with the addresses taken from the settings. */
export function verifyPackSubcommand(act: Act): Command {
  return new Command('verify-pack')
    .summary("check an evidence pack: digest, signature, and the partners' logs it was computed from")
    .description(
      'Checks a published evidence pack without trusting the projection service: the digest of its signed part, ' +
        "the Ed25519 signature, and that every event it was computed from is still, unaltered, in each partner's " +
        'own log. Exit status 0 intact, 1 not intact, 2 the check could not run.',
    )
    .argument(
      '<pack>',
      'the pack: its id (fetched from the projection service), a saved JSON file, or its URL',
    )
    .option('--projection <url>', 'the projection service (default HLS_PROJECTION_URL)')
    .option(
      '--key <file>',
      "the consortium's public signing key (PEM); default: fetched from the projection service",
    )
    .option(
      '--partner <id=url>',
      "a partner's service, once per partner (default: HLS_PARTNER_URLS)",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--token <bearer>', "a steward's or the body's reader's token (default HLS_TOKEN)")
    .option('--json', 'print the result as JSON')
    .action(act(verify));
}

interface VerifyFlags {
  projection?: string;
  key?: string;
  partner: string[];
  token?: string;
  json?: boolean;
}

async function verify(ctx: OpsContext, pack: string, flags: VerifyFlags): Promise<number> {
  const projection = (flags.projection ?? ctx.env.HLS_PROJECTION_URL)?.replace(/\/$/, '');
  const token = flags.token ?? ctx.env.HLS_TOKEN;
  if (!token)
    throw new OperatorError("--token (or HLS_TOKEN) is needed: a steward's or the body's reader's token");
  const isFile = existsSync(pack);
  const isUrl = /^https?:\/\//.test(pack);
  if (!isFile && !isUrl && !projection)
    throw new OperatorError(
      `${pack} is not a file: to fetch a pack by id, give --projection or HLS_PROJECTION_URL`,
    );
  if (!flags.key && !projection)
    throw new OperatorError('the public key is needed: --key <file>, or --projection to fetch it');
  const partners = flags.partner.length
    ? flags.partner
    : Object.entries(ctx.partnerUrls()).map(([id, url]) => `${id}=${url}`);
  const argv = [
    '--pack',
    isFile || isUrl ? pack : `${projection}/evidence-packs/${encodeURIComponent(pack)}`,
    '--token',
    token,
    ...(flags.key ? ['--key', flags.key] : ['--projection', projection as string]),
    ...partners.flatMap((p) => ['--partner', p]),
    ...(flags.json ? ['--json'] : []),
  ];
  return verifyPackCommand(argv, ctx.io.out);
}
