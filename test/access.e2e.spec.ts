import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { personStream, REASON_REQUIRED, REFERRAL_MOVES, REFERRAL_STATUSES } from '@app/domain';
import { ACCESS_RULES, Action, allows, ROLES, Role } from '@app/platform';
import { RunningConsortium } from '../apps/consortium/src/consortium-runner';
import { eventually } from './harness';
import { ApiResponse, api, startTestConsortium, tokenFor } from './harness/consortium';

/**
 * Who may do what, held to the one access table (ACCESS_RULES): docs/access.md shows it as the code has it, every
 * route names an action, and every action is tried as every role over HTTP. A role the table does not name is
 * refused with 403 and a problem; a role it names is not (the scope may still answer 404 where the record is
 * another organisation's). Then the scope rules beyond roles.
 */

const ROOT = resolve(__dirname, '..');
const ACTIONS = Object.keys(ACCESS_RULES) as Action[];
const rolesOf = (action: Action): readonly Role[] => ACCESS_RULES[action].roles;
const sorted = (xs: readonly string[]) => [...xs].sort();

// ---------------------------------------------------------------------------------------------------------------
// The routes, read from the controllers' source

type Service = 'partner' | 'projection' | 'every service';

interface Route {
  service: Service;
  where: string;
  method: string;
  path: string;
  action: string | null;
  isPublic: boolean;
}

const SOURCES: [string, Service][] = [
  ['apps/partner-service/src', 'partner'],
  ['apps/projection-service/src', 'projection'],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((f) => f.isFile() && f.name.endsWith('.ts') && !f.name.endsWith('.spec.ts'))
    .map((f) => join(f.parentPath, f.name));
}

const ROUTE_DECORATOR = /^@(Get|Post|Put|Patch|Delete|All|Options|Head)\((?:\s*'([^']*)'\s*)?\)/;
const CONTROLLER_DECORATOR = /^@Controller\((?:\s*'([^']*)'\s*)?\)/;
const ALLOW_DECORATOR = /^@Allow\(\s*'([^']+)'\s*\)/;

/** The run of decorator lines (each starting with @) around line i: one method's (or one class's) decorators. */
function decoratorBlock(lines: string[], i: number): string[] {
  let start = i;
  while (start > 0 && lines[start - 1].startsWith('@')) start--;
  let end = i;
  while (end + 1 < lines.length && lines[end + 1].startsWith('@')) end++;
  return lines.slice(start, end + 1);
}

function routesIn(file: string, service: Service): Route[] {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim());
  const routes: Route[] = [];
  let prefix = '';
  let classAction: string | null = null;
  let classPublic = false;
  lines.forEach((line, i) => {
    const controller = CONTROLLER_DECORATOR.exec(line);
    if (controller) {
      const block = decoratorBlock(lines, i);
      prefix = controller[1] ?? '';
      classAction = block.map((l) => ALLOW_DECORATOR.exec(l)?.[1]).find(Boolean) ?? null;
      classPublic = block.some((l) => l.startsWith('@Public('));
      return;
    }
    const route = ROUTE_DECORATOR.exec(line);
    if (!route) return;
    const block = decoratorBlock(lines, i);
    const path = `/${[prefix, route[2] ?? ''].filter(Boolean).join('/')}`.replace(/:(\w+)/g, '{$1}');
    routes.push({
      service,
      where: `${relative(ROOT, file)}:${i + 1}`,
      method: route[1].toUpperCase(),
      path,
      action: block.map((l) => ALLOW_DECORATOR.exec(l)?.[1]).find(Boolean) ?? classAction,
      isPublic: classPublic || block.some((l) => l.startsWith('@Public(')),
    });
  });
  return routes;
}

const ROUTES: Route[] = [
  ...SOURCES.flatMap(([dir, service]) => sourceFiles(dir).flatMap((f) => routesIn(f, service))),
  // The health check every service mounts.
  ...routesIn(join(ROOT, 'libs/platform/src/http/app.ts'), 'every service'),
];
const describeRoute = (r: Route) => `${r.service} ${r.method} ${r.path} (${r.where})`;

// ---------------------------------------------------------------------------------------------------------------
// docs/access.md

const DOC = readFileSync(join(ROOT, 'docs/access.md'), 'utf8');
const DOC_LINES = DOC.split('\n');
const ticked = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
/** The access table's rows start exactly "| `<action>` |" (the table is kept out of the formatter for that). */
const rowsFor = (first: string) => DOC_LINES.filter((l) => l.startsWith(`| \`${first}\` |`));
const cellsOf = (row: string) =>
  row
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
/** Other tables' rows may be padded by the formatter: the rows whose first cell is `first`. */
const paddedRowsFor = (first: string) =>
  DOC_LINES.filter((l) => l.startsWith('|') && cellsOf(l)[0] === `\`${first}\``);

describe('the access table', () => {
  it('finds the routes of both services in their source', () => {
    expect(ROUTES.filter((r) => r.service === 'partner').length).toBeGreaterThanOrEqual(10);
    expect(ROUTES.filter((r) => r.service === 'projection').length).toBeGreaterThanOrEqual(5);
    expect(ROUTES).toContainEqual(
      expect.objectContaining({ method: 'GET', path: '/health', isPublic: true }),
    );
  });

  it('has every route name an action (@Allow) or say it is public (@Public)', () => {
    expect(ROUTES.filter((r) => !r.action && !r.isPublic).map(describeRoute)).toEqual([]);
  });

  it('knows every action a route names, and every action it lists is some route’s', () => {
    expect(ROUTES.filter((r) => r.action && !(r.action in ACCESS_RULES)).map(describeRoute)).toEqual([]);
    const named = new Set(ROUTES.map((r) => r.action));
    expect(ACTIONS.filter((a) => !named.has(a))).toEqual([]);
  });

  it.each(ACTIONS)(
    'is shown in docs/access.md for %s: exactly its roles, its scope and its routes',
    (action) => {
      const rows = rowsFor(action);
      expect(rows).toHaveLength(1);
      const [, routeCell, roleCell, scopeCell] = cellsOf(rows[0]);
      // Exactly the table's roles appear in the row, and the roles cell holds nothing else.
      expect(sorted(ticked(rows[0]).filter((t) => (ROLES as readonly string[]).includes(t)))).toEqual(
        sorted(rolesOf(action)),
      );
      expect(sorted(ticked(roleCell))).toEqual(sorted(rolesOf(action)));
      expect(scopeCell).toBe(ACCESS_RULES[action].scope);
      const routes = ROUTES.filter((r) => r.action === action);
      expect(sorted(ticked(routeCell))).toEqual(sorted(routes.map((r) => `${r.method} ${r.path}`)));
      for (const service of new Set(routes.map((r) => r.service))) expect(routeCell).toContain(service);
    },
  );

  it('has no row in docs/access.md for an action the code does not have', () => {
    const documented = DOC_LINES.map((l) => /^\| `([a-z-]+\.[a-z-]+)` *\|/.exec(l)?.[1]).filter(Boolean);
    expect(documented.filter((a) => !(a! in ACCESS_RULES))).toEqual([]);
  });

  it.each([...REFERRAL_STATUSES])(
    'shows in docs/access.md the referral moves from %s as the code has them',
    (status) => {
      const rows = paddedRowsFor(status);
      expect(rows).toHaveLength(1);
      const [, recipient, referrer] = cellsOf(rows[0]);
      expect(ticked(recipient)).toEqual([...REFERRAL_MOVES.recipient[status]]);
      expect(ticked(referrer)).toEqual([...REFERRAL_MOVES.referrer[status]]);
    },
  );

  it('says in docs/access.md which referral moves must give a reason', () => {
    const paragraph = DOC.split(/\n\s*\n/).find((p) => p.includes('`REASON_REQUIRED`'));
    expect(paragraph).toBeDefined();
    const statuses = ticked(paragraph!).filter((t) => (REFERRAL_STATUSES as readonly string[]).includes(t));
    expect(sorted(statuses)).toEqual(sorted(REASON_REQUIRED));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Every action as every role, over HTTP

type Home = 'fresh-start' | 'spartans';

interface Fixtures {
  /** Registered at Fresh Start, consenting to share with Spartans for support and referral. */
  personRef: string;
  /** A second consent of that person's (to Move On, for case studies), there to be withdrawn. */
  withdrawableConsentId: string;
  /** Registered at Fresh Start, to arrive at Spartans. */
  arriving: { personRef: string; name: string; dateOfBirth: string };
  /** Registered at Fresh Start, to be erased. */
  erasableRef: string;
  /** Referrals of the person from Fresh Start to Spartans, both in Spartans' store: one to accept, one to move. */
  toAccept: string;
  toMove: string;
  /** A learning cycle (its purpose set) and an issue in Fresh Start's issue log. */
  cycleId: string;
  issueId: string;
  /** An evidence pack for NHS Lothian, composed at Fresh Start, approved by every partner and published. */
  packId: string;
  /** One of its tables, as its CSV is named (`<table id>.csv`). */
  packTable: string;
  /** The delivery of that pack to NHS Lothian's webhook, which nothing answers. */
  deliveryId: string;
}

interface Endpoint {
  action: Action;
  service: 'partner' | 'projection';
  method: string;
  /** As the controller names it, parameters in braces. */
  path: string;
  /** Whose service (for a partner route) and whose worker and steward call it. */
  home: Home;
  /** A valid request for the allowed case. */
  request: (f: Fixtures, role: Role) => { path: string; body?: unknown };
  /** What each role the table allows gets. */
  allowed: Partial<Record<Role, number>>;
}

const anHourAgo = () => new Date(Date.now() - 3600_000).toISOString();
const daysAgo = (days: number) => new Date(Date.now() - days * 86400_000).toISOString().slice(0, 10);
/** A period for an evidence pack: the thirty days to yesterday (a pack's period cannot end in the future). */
const aPackPeriod = () => ({ from: daysAgo(30), to: daysAgo(1) });
/** An id no pack has: the guard decides on the role before the route looks the pack up. */
const NO_SUCH_PACK = '00000000-0000-4000-8000-000000000000';
const anIssue = (description: string) => ({
  description,
  level: 1,
  owner: 'team',
  raisedFrom: { kind: 'other', ref: 'the access test' },
});

const ENDPOINTS: Endpoint[] = [
  {
    action: 'person.register',
    service: 'partner',
    method: 'POST',
    path: '/people',
    home: 'fresh-start',
    request: () => ({
      path: '/people',
      body: { name: 'Rhona Fairbairn', dateOfBirth: '1987-09-02', whatMatters: 'A steady job' },
    }),
    allowed: { worker: 201 },
  },
  {
    action: 'person.lookup',
    service: 'partner',
    method: 'POST',
    path: '/people/lookup',
    home: 'spartans',
    request: (f) => ({
      path: '/people/lookup',
      body: { name: f.arriving.name, dateOfBirth: f.arriving.dateOfBirth },
    }),
    allowed: { worker: 200 },
  },
  {
    action: 'person.arrive',
    service: 'partner',
    method: 'POST',
    path: '/people/{personRef}/arrival',
    home: 'spartans',
    request: (f) => ({
      path: `/people/${f.arriving.personRef}/arrival`,
      body: { name: f.arriving.name, dateOfBirth: f.arriving.dateOfBirth },
    }),
    allowed: { worker: 201 },
  },
  {
    action: 'journey.record',
    service: 'partner',
    method: 'PUT',
    path: '/people/{personRef}/what-matters',
    home: 'fresh-start',
    request: (f) => ({
      path: `/people/${f.personRef}/what-matters`,
      body: { whatMatters: 'Playing football again on Saturdays' },
    }),
    allowed: { worker: 200 },
  },
  {
    action: 'journey.record',
    service: 'partner',
    method: 'POST',
    path: '/people/{personRef}/journey/{record}',
    home: 'fresh-start',
    request: (f) => ({
      path: `/people/${f.personRef}/journey/contacts`,
      body: { kind: 'visit', occurredAt: anHourAgo(), durationMinutes: 30, notes: 'talked about training' },
    }),
    allowed: { worker: 201 },
  },
  {
    action: 'person.read-record',
    service: 'partner',
    method: 'GET',
    path: '/people/{personRef}',
    home: 'fresh-start',
    request: (f) => ({ path: `/people/${f.personRef}` }),
    allowed: { worker: 200, steward: 200 },
  },
  {
    action: 'consent.record',
    service: 'partner',
    method: 'POST',
    path: '/people/{personRef}/consents',
    home: 'fresh-start',
    request: (f) => ({
      path: `/people/${f.personRef}/consents`,
      body: { partners: ['north-edinburgh-arts'], purposes: ['aggregate-evidence'] },
    }),
    allowed: { worker: 201 },
  },
  {
    action: 'consent.record',
    service: 'partner',
    method: 'POST',
    path: '/people/{personRef}/consents/{consentId}/withdrawal',
    home: 'fresh-start',
    request: (f) => ({ path: `/people/${f.personRef}/consents/${f.withdrawableConsentId}/withdrawal` }),
    allowed: { worker: 201 },
  },
  {
    action: 'referral.request',
    service: 'partner',
    method: 'POST',
    path: '/referrals',
    home: 'fresh-start',
    request: (f) => ({
      path: '/referrals',
      body: { personRef: f.personRef, toOrganisation: 'move-on', reason: 'Needs somewhere to stay' },
    }),
    allowed: { worker: 201 },
  },
  {
    action: 'referral.answer',
    service: 'partner',
    method: 'POST',
    path: '/referrals/{referralId}/status',
    home: 'spartans',
    request: (f) => ({ path: `/referrals/${f.toMove}/status`, body: { status: 'accepted' } }),
    allowed: { worker: 200 },
  },
  {
    action: 'referral.answer',
    service: 'partner',
    method: 'POST',
    path: '/referrals/{referralId}/acceptance',
    home: 'spartans',
    request: (f) => ({ path: `/referrals/${f.toAccept}/acceptance` }),
    allowed: { worker: 201 },
  },
  {
    action: 'person.erase',
    service: 'partner',
    method: 'POST',
    path: '/people/{personRef}/erasure',
    home: 'fresh-start',
    request: (f) => ({ path: `/people/${f.erasableRef}/erasure`, body: { ground: 'person-request' } }),
    allowed: { 'consortium-admin': 201 },
  },
  {
    action: 'journey.read',
    service: 'projection',
    method: 'GET',
    path: '/people/{personRef}/journey',
    home: 'spartans',
    request: (f) => ({ path: `/people/${f.personRef}/journey` }),
    allowed: { worker: 200 },
  },
  {
    action: 'consent.history',
    service: 'projection',
    method: 'GET',
    path: '/people/{personRef}/consents',
    home: 'fresh-start',
    request: (f) => ({ path: `/people/${f.personRef}/consents` }),
    allowed: { worker: 200 },
  },
  {
    action: 'journey.reads',
    service: 'projection',
    method: 'GET',
    path: '/people/{personRef}/reads',
    home: 'fresh-start',
    request: (f) => ({ path: `/people/${f.personRef}/reads` }),
    allowed: { worker: 200 },
  },
  {
    action: 'referral.inbox',
    service: 'projection',
    method: 'GET',
    path: '/referrals/inbox',
    home: 'spartans',
    request: () => ({ path: '/referrals/inbox' }),
    allowed: { worker: 200, steward: 200, 'statutory-reader': 200 },
  },
  {
    action: 'referral.inbox',
    service: 'projection',
    method: 'GET',
    path: '/referrals/{referralId}',
    home: 'spartans',
    request: (f) => ({ path: `/referrals/${f.toAccept}` }),
    // A statutory body's reader may read referrals, but this one was neither made to it nor by it.
    allowed: { worker: 200, steward: 200, 'statutory-reader': 404 },
  },
  {
    action: 'referral.sent',
    service: 'projection',
    method: 'GET',
    path: '/referrals/sent',
    home: 'fresh-start',
    request: () => ({ path: '/referrals/sent' }),
    allowed: { worker: 200, steward: 200 },
  },
  {
    action: 'place.read',
    service: 'projection',
    method: 'GET',
    path: '/place',
    home: 'fresh-start',
    request: () => ({ path: '/place?from=2026-01-01&to=2026-12-31' }),
    allowed: { steward: 200 },
  },
  {
    action: 'learning.record',
    service: 'partner',
    method: 'POST',
    path: '/learning-cycles',
    home: 'fresh-start',
    request: (_, role) => ({
      path: '/learning-cycles',
      body: { title: `Keeping young people engaged (${role})`, scale: 'organisation' },
    }),
    allowed: { worker: 201, steward: 201 },
  },
  {
    action: 'learning.record',
    service: 'partner',
    method: 'POST',
    path: '/learning-cycles/{cycleId}/{stage}',
    home: 'fresh-start',
    request: (f, role) => ({
      path: `/learning-cycles/${f.cycleId}/purpose`,
      body: { purpose: `Fewer people dropping out after the first month (as the ${role} put it)` },
    }),
    allowed: { worker: 201, steward: 201 },
  },
  {
    action: 'learning.record',
    service: 'partner',
    method: 'POST',
    path: '/teams/{team}/reflective-sessions',
    home: 'fresh-start',
    request: () => ({
      path: '/teams/youth-work/reflective-sessions',
      body: {
        heldAt: anHourAgo(),
        whatHappened: 'Talked through the month',
        whatIsWorking: 'Drop-ins',
        whatIsWorkingLessWell: 'Evening cover',
        whatShouldChange: 'A second worker on Thursdays',
        attendeeCount: 4,
      },
    }),
    allowed: { worker: 201, steward: 201 },
  },
  {
    action: 'learning.record',
    service: 'partner',
    method: 'POST',
    path: '/issues',
    home: 'fresh-start',
    request: () => ({ path: '/issues', body: anIssue('Evening cover is thin') }),
    allowed: { worker: 201, steward: 201 },
  },
  {
    action: 'learning.record',
    service: 'partner',
    method: 'POST',
    path: '/issues/{issueId}/{change}',
    home: 'fresh-start',
    request: (f, role) => ({
      path: `/issues/${f.issueId}/countermeasure`,
      body: { countermeasure: `A rota for Thursday evenings (${role})` },
    }),
    allowed: { worker: 201, steward: 201 },
  },
  ...(
    [
      ['/learning-cycles', () => '/learning-cycles'],
      ['/learning-cycles/{cycleId}', (f) => `/learning-cycles/${f.cycleId}`],
      ['/issues', () => '/issues'],
      ['/issues/{issueId}', (f) => `/issues/${f.issueId}`],
    ] as [string, (f: Fixtures) => string][]
  ).map(
    ([path, to]): Endpoint => ({
      action: 'learning.read',
      service: 'projection',
      method: 'GET',
      path,
      // Spartans reads Fresh Start's learning: it is shared across the place.
      home: 'spartans',
      request: (f) => ({ path: to(f) }),
      allowed: { worker: 200, steward: 200, 'statutory-reader': 200 },
    }),
  ),
  {
    action: 'log.verify',
    service: 'partner',
    method: 'GET',
    path: '/log/verification',
    home: 'fresh-start',
    request: () => ({ path: '/log/verification?from=1&to=100000' }),
    allowed: { steward: 200, 'statutory-reader': 200, 'consortium-admin': 200 },
  },
  {
    action: 'evidence.compose',
    service: 'projection',
    method: 'POST',
    path: '/evidence-packs',
    home: 'fresh-start',
    request: () => ({ path: '/evidence-packs', body: { body: 'nhs-lothian', period: aPackPeriod() } }),
    allowed: { steward: 201 },
  },
  // Approving, declining and publishing a pack there is not: the role is checked first, then 404.
  {
    action: 'evidence.approve',
    service: 'projection',
    method: 'POST',
    path: '/evidence-packs/{packId}/approval',
    home: 'spartans',
    request: () => ({ path: `/evidence-packs/${NO_SUCH_PACK}/approval` }),
    allowed: { steward: 404 },
  },
  {
    action: 'evidence.approve',
    service: 'projection',
    method: 'POST',
    path: '/evidence-packs/{packId}/declination',
    home: 'spartans',
    request: () => ({
      path: `/evidence-packs/${NO_SUCH_PACK}/declination`,
      body: { reason: 'The referral table needs last month too' },
    }),
    allowed: { steward: 404 },
  },
  {
    action: 'evidence.publish',
    service: 'projection',
    method: 'POST',
    path: '/evidence-packs/{packId}/publication',
    home: 'fresh-start',
    request: () => ({ path: `/evidence-packs/${NO_SUCH_PACK}/publication` }),
    allowed: { steward: 404 },
  },
  ...(
    [
      ['/evidence-packs', () => '/evidence-packs'],
      ['/evidence-packs/{packId}', (f) => `/evidence-packs/${f.packId}`],
      ['/evidence-packs/{packId}/pack.html', (f) => `/evidence-packs/${f.packId}/pack.html`],
      ['/evidence-packs/{packId}/pack.pdf', (f) => `/evidence-packs/${f.packId}/pack.pdf`],
      ['/evidence-packs/{packId}/tables/{table}', (f) => `/evidence-packs/${f.packId}/tables/${f.packTable}`],
      ['/evidence-packs/{packId}/verification', (f) => `/evidence-packs/${f.packId}/verification`],
    ] as [string, (f: Fixtures) => string][]
  ).map(
    ([path, to]): Endpoint => ({
      action: 'evidence.read',
      service: 'projection',
      method: 'GET',
      path,
      // A Spartans steward reads a pack Fresh Start composed; NHS Lothian reads the pack published to it.
      home: 'spartans',
      request: (f) => ({ path: to(f) }),
      allowed: { steward: 200, 'statutory-reader': 200 },
    }),
  ),
  {
    action: 'feed.read',
    service: 'projection',
    method: 'GET',
    path: '/feeds/{body}',
    home: 'fresh-start',
    request: () => ({ path: '/feeds/nhs-lothian' }),
    allowed: { 'statutory-reader': 200, 'consortium-admin': 200 },
  },
  {
    action: 'feed.manage',
    service: 'projection',
    method: 'GET',
    path: '/feeds/{body}/webhook',
    home: 'fresh-start',
    request: () => ({ path: '/feeds/nhs-lothian/webhook' }),
    allowed: { 'statutory-reader': 200, 'consortium-admin': 200 },
  },
  {
    action: 'feed.manage',
    service: 'projection',
    method: 'PUT',
    path: '/feeds/{body}/webhook',
    home: 'fresh-start',
    request: () => ({ path: '/feeds/nhs-lothian/webhook', body: { url: 'http://127.0.0.1:9/hls-webhook' } }),
    allowed: { 'statutory-reader': 200, 'consortium-admin': 200 },
  },
  {
    action: 'feed.manage',
    service: 'projection',
    method: 'DELETE',
    path: '/feeds/{body}/webhook',
    home: 'fresh-start',
    // The fixtures set a webhook for NHS Lothian and for the Council: NHS Lothian removes its own, the
    // administrator the Council's.
    request: (_, role) => ({ path: `/feeds/${role === 'statutory-reader' ? 'nhs-lothian' : 'cec'}/webhook` }),
    allowed: { 'statutory-reader': 204, 'consortium-admin': 204 },
  },
  {
    action: 'feed.manage',
    service: 'projection',
    method: 'POST',
    path: '/feeds/{body}/deliveries/{deliveryId}/replay',
    home: 'fresh-start',
    request: (f) => ({ path: `/feeds/nhs-lothian/deliveries/${f.deliveryId}/replay` }),
    allowed: { 'statutory-reader': 202, 'consortium-admin': 202 },
  },
];

interface Cell {
  endpoint: Endpoint;
  role: Role;
  allowed: boolean;
  /** The exact status where the table allows the role and the test knows it; for a refused role, 403. */
  expected: number | null;
}

const CELLS: [string, Cell][] = ENDPOINTS.flatMap((endpoint) =>
  ROLES.map((role): [string, Cell] => {
    const allowed = allows(endpoint.action, role);
    const expected = allowed ? (endpoint.allowed[role] ?? null) : 403;
    const name = `${endpoint.action} (${endpoint.method} ${endpoint.path}) as ${role}: ${expected ?? 'not 403'}`;
    return [name, { endpoint, role, allowed, expected }];
  }),
);

it('tries every route that names an action, and every role on each', () => {
  const tried = sorted(ENDPOINTS.map((e) => `${e.service} ${e.method} ${e.path} ${e.action}`));
  const routes = sorted(
    ROUTES.filter((r) => r.action).map((r) => `${r.service} ${r.method} ${r.path} ${r.action}`),
  );
  expect(tried).toEqual(routes);
  expect(CELLS).toHaveLength(ENDPOINTS.length * ROLES.length);
  // Every role the table allows has a status the test expects exactly.
  for (const e of ENDPOINTS) expect(sorted(Object.keys(e.allowed))).toEqual(sorted(rolesOf(e.action)));
});

describe('every action as every role, over HTTP', () => {
  let c: RunningConsortium;
  let f: Fixtures;
  const tokens = new Map<string, Promise<string>>();

  const organisationOf = (role: Role, home: Home) =>
    role === 'statutory-reader'
      ? 'nhs-lothian'
      : role === 'consortium-admin'
        ? `${c.consortium.id}-admin`
        : home;
  const token = (organisation: string, role: Role) => {
    const key = `${organisation}/${role}`;
    if (!tokens.has(key)) tokens.set(key, tokenFor(c, organisation, role));
    return tokens.get(key)!;
  };
  const partner = (id: string) => c.partners.get(id)!.url;
  const expectRefused = (r: ApiResponse) => {
    expect({ status: r.status, body: r.body }).toMatchObject({ status: 403, body: { status: 403 } });
    expect(r.contentType).toContain('application/problem+json');
  };

  beforeAll(async () => {
    c = await startTestConsortium('real');
    const fsWorker = await token('fresh-start', 'worker');
    const spWorker = await token('spartans', 'worker');
    const fresh = partner('fresh-start');
    const created = (r: ApiResponse, what: string) => {
      if (r.status !== 201) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const register = async (name: string, dateOfBirth: string) =>
      created(
        await api(fresh, 'POST', '/people', fsWorker, { name, dateOfBirth, whatMatters: 'Feeling settled' }),
        `registering ${name}`,
      ).personRef as string;

    const arriving = { name: 'Callum Drummond', dateOfBirth: '1979-11-23' };
    const [personRef, arrivingRef, erasableRef] = await Promise.all([
      register('Morag Lindsay', '1993-06-30'),
      register(arriving.name, arriving.dateOfBirth),
      register('Iain Kerr', '1968-01-17'),
    ]);
    created(
      await api(fresh, 'POST', `/people/${personRef}/consents`, fsWorker, {
        partners: ['spartans'],
        purposes: ['support', 'referral'],
      }),
      'consent to share with Spartans',
    );
    const withdrawable = created(
      await api(fresh, 'POST', `/people/${personRef}/consents`, fsWorker, {
        partners: ['move-on'],
        purposes: ['case-study'],
      }),
      'consent to withdraw',
    );
    const refer = async () =>
      created(
        await api(fresh, 'POST', '/referrals', fsWorker, {
          personRef,
          toOrganisation: 'spartans',
          reason: 'Wants to get back into football',
        }),
        'referral to Spartans',
      ).referralId as string;
    const toAccept = await refer();
    const toMove = await refer();
    // Until the intake has taken a referral into Spartans' store its answer is 404; then a move the workflow does
    // not allow from `requested` is refused (409) without writing anything.
    await Promise.all(
      [toAccept, toMove].map((id) =>
        eventually(async () => {
          const r = await api(partner('spartans'), 'POST', `/referrals/${id}/status`, spWorker, {
            status: 'completed',
          });
          return r.status === 404 ? undefined : r;
        }, `referral ${id} to reach Spartans`).then((r) => expect(r.status).toBe(409)),
      ),
    );
    // Learning a statutory body may read: a place cycle, and an issue at level 3.
    const cycleId = created(
      await api(fresh, 'POST', '/learning-cycles', await token('fresh-start', 'steward'), {
        title: 'Staying with it',
        scale: 'place',
        purpose: 'Fewer people dropping out after the first month',
      }),
      'a learning cycle',
    ).cycleId as string;
    const issueId = created(
      await api(fresh, 'POST', '/issues', fsWorker, {
        ...anIssue('Thursday evenings are short-staffed'),
        level: 3,
        owner: 'leadership',
      }),
      'an issue',
    ).issueId as string;
    // The projection has the person and the consent to share with Spartans.
    await eventually(async () => {
      const r = await api(c.projection.url, 'GET', `/people/${personRef}/journey`, spWorker);
      return r.status === 200 ? r : undefined;
    }, 'the journey to be shared with Spartans');
    // And the learning; if it never arrives, the cells that read it say so.
    await Promise.all(
      [`/learning-cycles/${cycleId}`, `/issues/${issueId}`].map((path) =>
        eventually(async () => {
          const r = await api(c.projection.url, 'GET', path, spWorker);
          return r.status === 200 ? r : undefined;
        }, `${path} in the projection`).catch(() => undefined),
      ),
    );
    // A webhook for NHS Lothian and for the Council (nothing listens there: the delivery stays undelivered, to
    // be replayed); then an evidence pack for NHS Lothian, composed at Fresh Start, approved by every other
    // partner (the consortium's rule) and published, which makes a delivery to NHS Lothian's webhook.
    const admin = await token(`${c.consortium.id}-admin`, 'consortium-admin');
    for (const body of ['nhs-lothian', 'cec']) {
      const r = await api(c.projection.url, 'PUT', `/feeds/${body}/webhook`, admin, {
        url: `http://127.0.0.1:9/${body}`,
      });
      if (r.status !== 200) throw new Error(`a webhook for ${body}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    const steward = (partnerId: string) => token(partnerId, 'steward');
    const packId = created(
      await api(c.projection.url, 'POST', '/evidence-packs', await steward('fresh-start'), {
        body: 'nhs-lothian',
        period: aPackPeriod(),
      }),
      'an evidence pack',
    ).packId as string;
    for (const partnerId of ['move-on', 'north-edinburgh-arts', 'spartans'])
      created(
        await api(c.projection.url, 'POST', `/evidence-packs/${packId}/approval`, await steward(partnerId)),
        `${partnerId}'s approval of the pack`,
      );
    const published = created(
      await api(
        c.projection.url,
        'POST',
        `/evidence-packs/${packId}/publication`,
        await steward('fresh-start'),
      ),
      'publishing the pack',
    );
    const [table] = (published.contents as { tables: { id: string }[] }).tables;
    const deliveryId = await eventually(async () => {
      const r = await api(c.projection.url, 'GET', '/feeds/nhs-lothian/webhook', admin);
      return (r.body.deliveries as { deliveryId: string; packId: string }[] | undefined)?.find(
        (d) => d.packId === packId,
      )?.deliveryId;
    }, 'the delivery of the pack to NHS Lothian’s webhook');
    f = {
      personRef,
      withdrawableConsentId: withdrawable.consentId as string,
      arriving: { personRef: arrivingRef, ...arriving },
      erasableRef,
      toAccept,
      toMove,
      cycleId,
      issueId,
      packId,
      packTable: `${table.id}.csv`,
      deliveryId,
    };
  }, 60000);
  afterAll(() => c?.stop());

  it.each(CELLS)('%s', async (_, { endpoint, role, allowed, expected }) => {
    const base = endpoint.service === 'partner' ? partner(endpoint.home) : c.projection.url;
    const { path, body } = endpoint.request(f, role);
    const r = await api(
      base,
      endpoint.method,
      path,
      await token(organisationOf(role, endpoint.home), role),
      body,
    );
    if (!allowed) {
      expectRefused(r);
      return;
    }
    expect({ status: r.status, body: r.body }).not.toMatchObject({ status: 403 });
    if (expected !== null) expect({ status: r.status, body: r.body }).toMatchObject({ status: expected });
  });

  describe('scope, beyond roles', () => {
    it('refuses a Spartans worker writing to Fresh Start’s records (403), and nothing is written', async () => {
      const fresh = partner('fresh-start');
      const spWorker = await token('spartans', 'worker');
      const before = await c.partners.get('fresh-start')!.store.readStream(personStream(f.personRef));
      const writes: [string, string, unknown][] = [
        ['POST', '/people', { name: 'Someone Else', dateOfBirth: '1990-01-01', whatMatters: 'x' }],
        [
          'POST',
          `/people/${f.personRef}/journey/contacts`,
          { kind: 'visit', occurredAt: anHourAgo(), durationMinutes: 5 },
        ],
        ['PUT', `/people/${f.personRef}/what-matters`, { whatMatters: 'Something else' }],
        ['POST', `/people/${f.personRef}/consents`, { partners: ['spartans'], purposes: ['case-study'] }],
        ['POST', '/referrals', { personRef: f.personRef, toOrganisation: 'spartans', reason: 'x' }],
      ];
      for (const [method, path, body] of writes)
        expectRefused(await api(fresh, method, path, spWorker, body));
      const after = await c.partners.get('fresh-start')!.store.readStream(personStream(f.personRef));
      expect(after.length).toBe(before.length);
    });

    it('answers a Spartans steward reading a Fresh Start record with 404, and nothing of it', async () => {
      const r = await api(
        partner('fresh-start'),
        'GET',
        `/people/${f.personRef}`,
        await token('spartans', 'steward'),
      );
      expect(r.status).toBe(404);
      expect(r.contentType).toContain('application/problem+json');
      expect(JSON.stringify(r.body)).not.toMatch(/Morag|1993-06-30/);
    });

    it('never shows a statutory reader the person (no personRef, nothing personal) in its inbox', async () => {
      const referred = await api(
        partner('fresh-start'),
        'POST',
        '/referrals',
        await token('fresh-start', 'worker'),
        { personRef: f.personRef, toOrganisation: 'nhs-lothian', reason: 'Low mood since the winter' },
      );
      expect(referred.status).toBe(201);
      const referralId = referred.body.referralId as string;
      const reader = await token('nhs-lothian', 'statutory-reader');
      const inbox = await eventually(async () => {
        const r = await api(c.projection.url, 'GET', '/referrals/inbox', reader);
        const found = (r.body.referrals as { referralId: string }[] | undefined)?.some(
          (x) => x.referralId === referralId,
        );
        return found ? r : undefined;
      }, 'the referral in the NHS Lothian inbox');
      expect(inbox.status).toBe(200);
      const item = (inbox.body.referrals as { referralId: string }[]).find(
        (x) => x.referralId === referralId,
      );
      expect(item).toMatchObject({ from: 'fresh-start', to: 'nhs-lothian', personRef: null, personal: null });
      for (const r of inbox.body.referrals as Record<string, unknown>[]) {
        expect(r).toMatchObject({ personRef: null, personal: null });
      }
      expect(JSON.stringify(inbox.body)).not.toMatch(
        new RegExp(`${f.personRef}|Morag|1993-06-30|Low mood|football`),
      );
    });

    it('leaves a place-scale cycle and escalation to government to stewards', async () => {
      const fresh = partner('fresh-start');
      const place = { title: 'North Edinburgh together', scale: 'place' };
      expectRefused(
        await api(fresh, 'POST', '/learning-cycles', await token('fresh-start', 'worker'), place),
      );
      const convened = await api(
        fresh,
        'POST',
        '/learning-cycles',
        await token('fresh-start', 'steward'),
        place,
      );
      expect(convened.status).toBe(201);
      const escalation = { owner: 'government', reason: 'Only funding rules can change this' };
      expectRefused(
        await api(
          fresh,
          'POST',
          `/issues/${f.issueId}/escalation`,
          await token('fresh-start', 'worker'),
          escalation,
        ),
      );
    });

    it('records a read of the journey from outside the partner that holds it, listed to the holders only', async () => {
      const reader = await token('spartans', 'worker');
      const read = await api(
        c.projection.url,
        'GET',
        `/people/${f.personRef}/journey?purpose=first%20session`,
        reader,
      );
      expect(read.status).toBe(200);
      const reads = await api(
        c.projection.url,
        'GET',
        `/people/${f.personRef}/reads`,
        await token('fresh-start', 'worker'),
      );
      expect(reads.status).toBe(200);
      expect(reads.body.reads).toContainEqual({
        organisation: 'spartans',
        user: 'spartans-worker',
        purpose: 'first session',
        at: expect.any(String),
      });
      // A partner that holds no record of the person learns nothing of who read it.
      expectRefused(
        await api(
          c.projection.url,
          'GET',
          `/people/${f.personRef}/reads`,
          await token('north-edinburgh-arts', 'worker'),
        ),
      );
    });
  });
});
