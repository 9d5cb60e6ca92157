import { Command, Option } from 'commander';
import { OperatorError, OpsContext } from '../settings';
import { Act } from './act';

/**
 * `erase <reference>`: the erasure a consortium administrator asks for over HTTP (POST /people/{ref}/erasure on a
 * partner service that holds the person), made with the administrators' authority: their token, or their
 * signing key from HLS_TOKEN_KEYS to make one naming who asks. The service does the rest, as for any request:
 * the keys destroyed in the key service, then PersonErased recorded.
 */
export function eraseCommand(act: Act): Command {
  return new Command('erase')
    .summary('erase a person (crypto-shredding) through a partner service that holds them')
    .description(
      'Destroys every key of the person in the key service, so that every copy of their personal fields ' +
        '(event stores, Kafka, read models, backups) can no longer be opened, and records PersonErased at the ' +
        'partner. Asked of the partner given, or of each partner in HLS_PARTNER_URLS in turn until one holds ' +
        "the person. Needs an administrator: --token, or the administrators' key in HLS_TOKEN_KEYS and --as.",
    )
    .argument('<reference>', "the person's consortium reference, e.g. NE-7K2M9QX4TB")
    .addOption(
      new Option('--ground <ground>', 'why')
        .choices(['person-request', 'retention-ended'])
        .makeOptionMandatory(),
    )
    .option('--partner <id>', 'the partner to ask through (default: each in turn)')
    .option('--partner-url <url>', "that partner's service, if not in HLS_PARTNER_URLS")
    .option(
      '--token <bearer>',
      "a consortium administrator's token (default: HLS_ADMIN_TOKEN, or one made here)",
    )
    .option(
      '--as <user>',
      'who asks, recorded with the erasure, when the token is made here (e.g. jo.bloggs)',
    )
    .action(act(erase));
}

interface EraseFlags {
  ground: string;
  partner?: string;
  partnerUrl?: string;
  token?: string;
  as?: string;
}

async function erase(ctx: OpsContext, reference: string, flags: EraseFlags): Promise<number> {
  const urls = ctx.partnerUrls();
  if (flags.partner) {
    ctx.partner(flags.partner);
    if (flags.partnerUrl) urls[flags.partner] = flags.partnerUrl;
  }
  const partners = flags.partner ? [flags.partner] : ctx.consortium.partners.map((p) => p.id);
  const missing = partners.filter((p) => !urls[p]);
  if (missing.length === partners.length)
    throw new OperatorError(
      `no address for ${missing.join(', ')}: set HLS_PARTNER_URLS (JSON, partner id to URL) or give --partner and --partner-url`,
    );
  const token = await tokenOf(ctx, flags);
  for (const partner of partners.filter((p) => urls[p])) {
    const url = `${urls[partner].replace(/\/$/, '')}/people/${encodeURIComponent(reference)}/erasure`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ground: flags.ground }),
      });
    } catch (e) {
      throw new OperatorError(
        `${partner}'s service at ${urls[partner]} did not answer (${(e as Error).message})`,
      );
    }
    const text = await res.text();
    if (res.status === 404 && partners.length > 1) {
      ctx.io.err(`${partner} holds no record of ${reference}`);
      continue;
    }
    if (res.ok) {
      ctx.io.out(`${reference} erased through ${partner} (ground: ${flags.ground})`);
      return 0;
    }
    throw new OperatorError(`${partner} answered ${res.status}: ${detailOf(text)}`);
  }
  throw new OperatorError(`no partner with an address holds a record of ${reference}`);
}

async function tokenOf(ctx: OpsContext, flags: EraseFlags): Promise<string> {
  const given = flags.token ?? ctx.env.HLS_ADMIN_TOKEN;
  if (given) return given;
  if (!flags.as)
    throw new OperatorError(
      '--as <user> is needed (who asks, recorded with the erasure), or an administrator --token',
    );
  const { organisation, keys } = ctx.adminSigner();
  return keys.sign({ userId: flags.as, name: flags.as, organisation, role: 'consortium-admin' }, '5m');
}

function detailOf(text: string): string {
  try {
    const body = JSON.parse(text);
    return body.detail ?? body.message ?? text;
  } catch {
    return text;
  }
}
