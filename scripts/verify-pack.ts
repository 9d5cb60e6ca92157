import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  PackDocument,
  PackVerification,
  verifyPack,
} from '../apps/projection-service/src/evidence/evidence-packs';
import { HttpPartnerLogs } from '../apps/projection-service/src/evidence/partner-logs';

const HELP = `Checks an evidence pack: its digest, its Ed25519 signature, and that every event it was computed from is
still, unaltered, in each partner's own log.

  npm run verify-pack -- --pack <pack.json | URL> --partner <id>=<url> [--partner …] --token <bearer>
                         [--key <public-key.pem> | --projection <url>]

  --pack        the pack as JSON: a file downloaded from GET /evidence-packs/{id}, or that URL itself
  --partner     where a partner's service answers, once per partner in the pack's provenance
  --token       a bearer token allowed to read the pack and the partners' logs (a steward's or the body's)
  --key         the consortium's public signing key (PEM), as published by it; or
  --projection  the projection service, to fetch the key from GET /evidence-packs/signing-key (compare its id
                with the one the consortium published)
  --json        print the result as JSON
  --help        this text

Exit status: 0 the pack is intact; 1 it is not (the report says what differs); 2 the check could not run.`;

/** Also `hls-consortium verify-pack`, which passes its own output. */
async function main(argv: string[], print: (text: string) => void = console.log): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      pack: { type: 'string' },
      partner: { type: 'string', multiple: true, default: [] },
      token: { type: 'string' },
      key: { type: 'string' },
      projection: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    print(HELP);
    return 0;
  }
  if (!values.pack || !values.token || (!values.key && !values.projection)) {
    console.error(`verify-pack: --pack, --token and one of --key or --projection are needed\n\n${HELP}`);
    return 2;
  }
  const token = values.token;
  const get = async (url: string) => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
    return res.json();
  };
  const doc = (
    /^https?:\/\//.test(values.pack) ? await get(values.pack) : JSON.parse(readFileSync(values.pack, 'utf8'))
  ) as PackDocument;
  const publicKeyPem = values.key
    ? readFileSync(values.key, 'utf8')
    : ((await get(`${values.projection}/evidence-packs/signing-key`)) as { publicKeyPem: string })
        .publicKeyPem;
  const urls = Object.fromEntries(
    (values.partner as string[]).map((p) => {
      const at = p.indexOf('=');
      if (at < 1) throw new Error(`--partner ${p}: give it as <id>=<url>`);
      return [p.slice(0, at), p.slice(at + 1).replace(/\/$/, '')];
    }),
  );
  const result = await verifyPack(
    doc,
    publicKeyPem,
    new HttpPartnerLogs(urls, async () => token),
    new Date(),
  );
  print(values.json ? JSON.stringify(result, null, 2) : report(result));
  return result.intact ? 0 : 1;
}

function report(r: PackVerification): string {
  const mark = (ok: boolean) => (ok ? 'ok     ' : 'FAILED ');
  return [
    `Evidence pack ${r.packId}: ${r.intact ? 'INTACT' : 'NOT INTACT'}`,
    `  ${mark(r.digestMatches)} digest of the pack's contents and approvals`,
    `  ${mark(r.signatureValid)} Ed25519 signature (key ${r.keyId ?? 'none'})`,
    ...r.partners.map(
      (p) =>
        `  ${mark(p.matches)} ${p.partner}: positions ${p.from}-${p.to}, ${p.eventsInPack} events${p.problem ? `: ${p.problem}` : ''}${p.altered.length ? ` (altered: ${p.altered.join(', ')})` : ''}`,
    ),
  ].join('\n');
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`verify-pack: ${(e as Error).message}`);
      process.exit(2);
    },
  );
}

export { main as verifyPackCommand };
