// A real OpenID Connect issuer (oidc-provider) on loopback, for tests of the portal's single sign-on.
// oidc-provider is an ES module only, so tests run this script as a child process. Its configuration comes as
// JSON in the OIDC_ISSUER_CONFIG environment variable:
//   { "clients": [ oidc-provider client metadata ], "accounts": { "<account id>": { <claims> } } }
// It prints one line of JSON, {"issuer":"http://127.0.0.1:<port>"}, once it listens, and stops on SIGTERM (or
// when its stdin closes, so that it never outlives the test).
// Sign-in uses oidc-provider's own development login and consent forms: any login naming a configured account
// signs in as that account (the password is not checked), so tests post those forms as a browser would.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_ISSUER_CONFIG ?? '{}');
const accounts = config.accounts ?? {};

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: config.clients ?? [],
  // Claims a client may ask for by scope; `groups` carries the organisation's roles, as many providers do.
  claims: { openid: ['sub'], profile: ['name'], email: ['email'], groups: ['groups'] },
  scopes: ['openid', 'profile', 'email', 'groups'],
  cookies: { keys: ['test-issuer-cookie-key-not-secret'] },
  pkce: { required: () => true },
  features: { rpInitiatedLogout: { enabled: true } },
  async findAccount(_ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
});
// Quiet: oidc-provider's notices about its development defaults are expected here.
provider.on('server_error', (_ctx, err) => console.error('issuer server_error', err));
server.on('request', provider.callback());

process.stdout.write(`${JSON.stringify({ issuer })}\n`);

// A test changes an account's claims (as an administrator would at a real provider) by writing a line of JSON,
// {"account": "<id>", "claims": {...}}, to stdin; the answer {"updated": "<id>"} says it is in force.
let input = '';
process.stdin.on('data', (d) => {
  input += d;
  for (let i = input.indexOf('\n'); i >= 0; i = input.indexOf('\n')) {
    const line = input.slice(0, i);
    input = input.slice(i + 1);
    if (!line.trim()) continue;
    const { account, claims } = JSON.parse(line);
    accounts[account] = claims;
    process.stdout.write(`${JSON.stringify({ updated: account })}\n`);
  }
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
