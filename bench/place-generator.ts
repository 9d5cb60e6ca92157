import { Consortium } from '@app/consortium';
import {
  asRecorded,
  CycleLinkRelation,
  CycleScale,
  consent,
  consentStream,
  Decider,
  IssueLevel,
  IssueOwner,
  issue,
  issueStream,
  learningCycle,
  learningCycleStream,
  PlatformEvent,
  person,
  personStream,
  ReferralStatus,
  referral,
  referralStream,
  teamReflection,
  teamReflectionStream,
} from '@app/domain';
import { ExpectedVersion, NewEvent, PostgresEventStore } from '@app/event-store';
import { keyId, matchKey, PostgresKeyStore, parseKeyId, RecordKind, Sealed, seal } from '@app/privacy';
import { Pool } from 'pg';
import { schemaName } from '../apps/consortium/src/consortium-runner';
import { JOURNEY_RECORDS } from '../apps/partner-service/src/people/journey-records';

/**
 * A realistic place, written straight into the partners' event stores: `generatePlace` writes N events (one
 * million by default) across the partners of a consortium file, spread over several years ending at `endAt`,
 * as the partner services would have recorded them. Every event comes from the domain's own deciders
 * (libs/domain) and the partner service's own record table (JOURNEY_RECORDS), so it has exactly the shape the
 * projector accepts; personal fields are sealed with libs/privacy under keys per person, kind of record and
 * year, and the keys are written to the key service's tables, so the consortium's services open them.
 *
 * ```ts
 * const counts = await generatePlace({ pool, consortium, schemaPrefix: 'bench_', events: 1_000_000, seed: 7 });
 * // then startConsortium({ consortium, databaseUrl, schemaPrefix: 'bench_', … }) serves that place
 * ```
 *
 * Where it writes (as apps/consortium/src/consortium-runner.ts names them): each partner's store in
 * `<schemaPrefix>partner_<partner id, - as _>`, the keys in `<schemaPrefix>key_service`. Both are migrated
 * first; the schemas should be new (the generator appends new streams and does not read what is there).
 *
 * What a place holds. People arrive evenly over the years, each registered at one partner (name, date of
 * birth, contact and what matters sealed as at registration), most with consent (to their partner and some
 * others, for support and referral, some for case studies and aggregate evidence; a few withdrawn). Their
 * journey: contacts (visits and phone calls, with durations and sealed notes), support given (kind, cost in
 * pence, sealed description), life-system maps with themes from the consortium file, reflections with soft
 * measures, outcomes in their words, revisions of what matters and, where the consortium switches SWEMWBS on
 * (or `swemwbs: true`), wellbeing measures. Referrals: to other partners, taken in at the recipient
 * (`ReferralReceived`, by the referral intake), then accepted (the person welcomed there, then contacts there:
 * the first-contact times), started, completed, failed or put on hold, or rejected, or cancelled, or not yet
 * answered, each change taken in by the other side (`ReferralUpdateReceived`, exactly as the intake records it,
 * so a live intake finds nothing new); and to statutory bodies (requested, a few cancelled). Learning, about
 * 1% of the events: learning cycles at the four scales through their stages, with links between them, teams'
 * reflective sessions, and the issue log (raised, countermeasures, system changes, escalations, evidence,
 * closed, reopened).
 *
 * Deterministic for a seed: the same people, references, ids, times, texts, keys and counts. Only the AES-GCM
 * initialisation vectors are random (libs/privacy's `seal`, as in the services), so the ciphertexts, and
 * the hash chain over them, differ from run to run.
 *
 * Log order. A person's story is written in one transaction, stories in order of arrival, learning in
 * between by time; so each partner's log runs forward in time, person by person. Relays that publish these
 * logs in bulk do so side by side, so on the backbone one person's events from two partners need not come in
 * the order they happened (live, they would).
 *
 * Speed: one multi-event append per stream, several stories per transaction with `synchronous_commit` off
 * (a bulk load), `concurrency` transactions at a time (it uses that many connections of the pool, plus one).
 */
export interface PlaceOptions {
  pool: Pool;
  consortium: Consortium;
  /** Prefixes every schema, as startConsortium's `schemaPrefix` does. Default ''. */
  schemaPrefix?: string;
  /** How many events, exactly. Default 1,000,000. */
  events?: number;
  /** Default 1. */
  seed?: number;
  /** The last moment of the place's history. Default now. */
  endAt?: Date;
  /** How many years of history before endAt. Default 5. */
  years?: number;
  /** SWEMWBS wellbeing measures; default whether the consortium file switches them on. */
  swemwbs?: boolean;
  /** With the consortium's matching secret, each person's match key is recorded, as at registration. */
  matchingSecret?: Buffer;
  /** Transactions in flight at once. Default 4. */
  concurrency?: number;
  /**
   * Called after every transaction with the events written so far. Return a promise to hold the generator back
   * until it resolves: how a consumer that must keep up (a projection reading live) sets the pace.
   */
  onProgress?: (written: number, total: number) => void | Promise<void>;
}

export interface PlaceCounts {
  events: number;
  byPartner: Record<string, number>;
  byType: Record<string, number>;
  people: number;
  referrals: { toPartners: number; toStatutoryBodies: number };
  learningCycles: number;
  issues: number;
  reflectiveSessions: number;
  /** Data keys written to the key service (per person, kind and year). */
  keys: number;
  startAt: string;
  endAt: string;
  schemas: { partners: Record<string, string>; keyService: string };
  seconds: number;
  eventsPerSecond: number;
}

export async function generatePlace(options: PlaceOptions): Promise<PlaceCounts> {
  const started = performance.now();
  const o = {
    schemaPrefix: '',
    events: 1_000_000,
    seed: 1,
    endAt: new Date(),
    years: 5,
    swemwbs: options.consortium.wellbeing.swemwbs.enabled,
    concurrency: 4,
    ...options,
  };
  const partners = o.consortium.partners.map((p) => p.id);
  const schemas = {
    partners: Object.fromEntries(partners.map((p) => [p, schemaName(o.schemaPrefix, `partner_${p}`)])),
    keyService: schemaName(o.schemaPrefix, 'key_service'),
  };
  const stores = new Map<string, PostgresEventStore>();
  for (const p of partners)
    stores.set(p, await PostgresEventStore.open({ pool: o.pool, schema: schemas.partners[p] }));
  await PostgresKeyStore.open({ pool: o.pool, schema: schemas.keyService });

  const endAt = o.endAt.getTime();
  const startAt = endAt - o.years * 365 * DAY;
  const place: Place = { consortium: o.consortium, partners, startAt, endAt, swemwbs: o.swemwbs };

  // Learning first (about 1% of the events), so that the people's stories fill the rest exactly.
  const learning = new Streams(new Rng(o.seed * 7919 + 3));
  const learningPlan = planLearning(place, new Rng(o.seed * 104729 + 5), learning, Math.ceil(o.events / 100));
  const plannedLearning = learningPlan.actions;
  const peopleBudget = o.events - plannedLearning.length;

  // How many people that makes: the mean story length, measured on a dry run of other people.
  const dryRng = new Rng(o.seed * 31 + 17);
  let dryEvents = 0;
  const dryRuns = 300;
  for (let i = 0; i < dryRuns; i++) {
    const s = await story(
      place,
      dryRng,
      new KeyRing(dryRng, null),
      startAt + ((i + 0.5) / dryRuns) * (endAt - startAt),
      1e9,
    );
    dryEvents += s.events;
  }
  const expectedPeople = Math.max(1, Math.round(peopleBudget / (dryEvents / dryRuns)));

  const writer = new Writer(o.pool, stores, schemas.keyService, o.concurrency, o.events, o.onProgress);
  const rng = new Rng(o.seed);
  const keys = new KeyRing(rng, o.matchingSecret ?? null);
  const counts = { people: 0, toPartners: 0, toStatutory: 0 };
  let written = 0;
  let nextLearning = 0;
  while (written < peopleBudget) {
    const arrival = Math.min(
      startAt + (counts.people / expectedPeople) * (endAt - startAt),
      endAt - DAY + rng.int(0, DAY - 1000),
    );
    // Learning that happened before this person arrived goes first, so the logs run forward in time.
    for (
      ;
      nextLearning < plannedLearning.length && plannedLearning[nextLearning].t <= arrival;
      nextLearning++
    )
      plannedLearning[nextLearning].run();
    writer.addLearning(learning.drain());
    const s = await story(place, rng, keys, arrival, peopleBudget - written);
    written += s.events;
    counts.people++;
    counts.toPartners += s.toPartners;
    counts.toStatutory += s.toStatutory;
    await writer.add(s.appends, keys.drain());
  }
  for (; nextLearning < plannedLearning.length; nextLearning++) plannedLearning[nextLearning].run();
  writer.addLearning(learning.drain());
  await writer.finish();

  const seconds = (performance.now() - started) / 1000;
  return {
    events: writer.events,
    byPartner: writer.byPartner,
    byType: writer.byType,
    people: counts.people,
    referrals: { toPartners: counts.toPartners, toStatutoryBodies: counts.toStatutory },
    learningCycles: learningPlan.cycles,
    issues: learningPlan.issues,
    reflectiveSessions: learningPlan.sessions,
    keys: writer.keys,
    startAt: new Date(startAt).toISOString(),
    endAt: new Date(endAt).toISOString(),
    schemas,
    seconds,
    eventsPerSecond: writer.events / seconds,
  };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** As an ISO string; the same moment is asked for several times in a row, so the last one is kept. */
const iso = (() => {
  let last = Number.NaN;
  let text = '';
  return (t: number) => {
    if (t !== last) {
      last = t;
      text = new Date(t).toISOString();
    }
    return text;
  };
})();

interface Place {
  consortium: Consortium;
  partners: string[];
  startAt: number;
  endAt: number;
  swemwbs: boolean;
}

/** A seeded generator (mulberry32): the same seed, the same place. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }

  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A whole number from min to max, both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)];
  }

  /** Some of a list, at least `min`, each once. */
  some<T>(list: readonly T[], min: number, max: number): T[] {
    const n = Math.min(list.length, this.int(min, max));
    const copy = [...list];
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.next() * (copy.length - i));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy.slice(0, n);
  }

  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    let r = this.next() * choices.reduce((s, [, w]) => s + w, 0);
    for (const [v, w] of choices) {
      r -= w;
      if (r < 0) return v;
    }
    return choices[choices.length - 1][0];
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4) b.writeUInt32LE((this.next() * 4294967296) >>> 0, i);
    return b;
  }

  uuid(): string {
    const b = this.bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

/** One append: a stream's new events, at the version the stream was at when it was last written. */
interface Append {
  partner: string;
  streamId: string;
  expected: ExpectedVersion;
  events: NewEvent[];
}

interface Acting {
  actor: string;
  correlationId: string;
  causationId?: string;
  /** When it was recorded: the events' metadata.occurredAt. */
  at: number;
}

/**
 * The streams being written, each folded through its decider exactly as runCommand does (decide, evolve,
 * metadata), and the events not yet appended.
 */
class Streams {
  private readonly streams = new Map<
    string,
    { partner: string; streamId: string; state: unknown; written: number; pending: NewEvent[] }
  >();

  constructor(private readonly rng: Rng) {}

  record<C, E extends PlatformEvent, S>(
    partner: string,
    decider: Decider<C, E, S>,
    streamId: string,
    subject: string,
    command: C,
    by: Acting,
  ): NewEvent[] {
    const key = `${partner} ${streamId}`;
    let s = this.streams.get(key);
    if (!s) {
      s = { partner, streamId, state: decider.initialState, written: -1, pending: [] };
      this.streams.set(key, s);
    }
    const events = decider.decide(command, s.state as S);
    const recording = { partner, ...by, subject, occurredAt: iso(by.at) };
    const recorded = events.map((e): NewEvent => {
      s.state = decider.evolve(s.state as S, e);
      return asRecorded(decider, e, recording, this.rng.uuid());
    });
    s.pending.push(...recorded);
    return recorded;
  }

  pendingEvents(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.pending.length;
    return n;
  }

  /** The appends that would write every pending event, one per stream; the streams stay known. */
  drain(): Append[] {
    const appends: Append[] = [];
    for (const s of this.streams.values()) {
      if (s.pending.length === 0) continue;
      appends.push({
        partner: s.partner,
        streamId: s.streamId,
        expected: s.written === -1 ? 'no_stream' : s.written,
        events: s.pending,
      });
      s.written += s.pending.length;
      s.pending = [];
    }
    return appends;
  }
}

/** The key service's keys as the generator makes them: per person, kind and year, made on first use. */
class KeyRing {
  private readonly keys = new Map<string, Buffer>();
  private people: { personRef: string; matchKey: string | null }[] = [];
  private made: string[] = [];

  constructor(
    private readonly rng: Rng,
    private readonly matchingSecret: Buffer | null,
  ) {}

  addPerson(personRef: string, identifiers: { name: string; dateOfBirth: string }): void {
    const key = this.matchingSecret ? matchKey(this.matchingSecret, identifiers) : null;
    this.people.push({ personRef, matchKey: key });
  }

  /** As sealFor does it, without the round trip: the key is made here and written with the story. */
  seal(personRef: string, kind: RecordKind, at: string, value: unknown): Sealed {
    const kid = keyId(personRef, kind, at);
    let key = this.keys.get(kid);
    if (!key) {
      key = this.rng.bytes(32);
      this.keys.set(kid, key);
      this.made.push(kid);
    }
    return seal(key, kid, value);
  }

  /** What to write to the key service since the last drain; a person's keys are forgotten with it. */
  drain(): KeyRows {
    const rows: KeyRows = {
      people: this.people,
      keys: this.made.map((kid) => [kid, this.keys.get(kid) as Buffer]),
    };
    this.people = [];
    this.made = [];
    this.keys.clear();
    return rows;
  }
}

interface KeyRows {
  people: { personRef: string; matchKey: string | null }[];
  keys: [string, Buffer][];
}

/** Appends in transactions of several stories, `concurrency` at a time; learning in its own sequence. */
class Writer {
  events = 0;
  keys = 0;
  readonly byPartner: Record<string, number> = {};
  readonly byType: Record<string, number> = {};
  private queue: Append[] = [];
  private queuedKeys: KeyRows = { people: [], keys: [] };
  private queuedEvents = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private learning: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    private readonly pool: Pool,
    private readonly stores: Map<string, PostgresEventStore>,
    private readonly keySchema: string,
    private readonly concurrency: number,
    private readonly total: number,
    private readonly onProgress?: (written: number, total: number) => void | Promise<void>,
  ) {}

  /** What onProgress last asked the generator to wait for. */
  private pacing: void | Promise<void> = undefined;

  /** Queues a story's appends; resolves once there is room for more (the generator waits on the database). */
  async add(appends: Append[], keys: KeyRows): Promise<void> {
    this.queue.push(...appends);
    this.queuedKeys.people.push(...keys.people);
    this.queuedKeys.keys.push(...keys.keys);
    for (const a of appends) this.queuedEvents += a.events.length;
    if (this.queuedEvents >= 2000) {
      await this.pacing;
      await this.submit();
    }
  }

  addLearning(appends: Append[]): void {
    if (appends.length === 0) return;
    this.learning = this.learning.then(() => this.write(appends, { people: [], keys: [] }));
    this.learning.catch((e) => {
      this.failure ??= e;
    });
  }

  async finish(): Promise<void> {
    await this.submit();
    await Promise.all(this.inFlight);
    await this.learning;
    if (this.failure) throw this.failure;
  }

  private async submit(): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    const job = this.write(this.queue, this.queuedKeys);
    this.queue = [];
    this.queuedKeys = { people: [], keys: [] };
    this.queuedEvents = 0;
    this.inFlight.add(job);
    job.then(
      () => this.inFlight.delete(job),
      (e) => {
        this.inFlight.delete(job);
        this.failure ??= e;
      },
    );
  }

  private async write(appends: Append[], keys: KeyRows): Promise<void> {
    if (appends.length === 0 && keys.people.length === 0) return;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL synchronous_commit = off');
      if (keys.people.length) {
        const ks = this.keySchema;
        await client.query(`INSERT INTO ${ks}.people (person_ref) SELECT * FROM unnest($1::text[])`, [
          keys.people.map((p) => p.personRef),
        ]);
        const parts = keys.keys.map(([kid]) => parseKeyId(kid));
        await client.query(
          `INSERT INTO ${ks}.data_keys (kid, person_ref, kind, period, data_key)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[])`,
          [
            keys.keys.map(([kid]) => kid),
            parts.map((p) => p.personRef),
            parts.map((p) => p.kind),
            parts.map((p) => p.period),
            keys.keys.map(([, key]) => key),
          ],
        );
        const matches = keys.people.filter((p) => p.matchKey);
        if (matches.length)
          await client.query(
            `INSERT INTO ${ks}.match_keys (match_key, person_ref) SELECT * FROM unnest($1::text[], $2::text[])
             ON CONFLICT DO NOTHING`,
            [matches.map((p) => p.matchKey), matches.map((p) => p.personRef)],
          );
      }
      for (const a of appends)
        await (this.stores.get(a.partner) as PostgresEventStore).appendWith(
          client,
          a.streamId,
          a.expected,
          a.events,
        );
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
    this.keys += keys.keys.length;
    for (const a of appends) {
      this.events += a.events.length;
      this.byPartner[a.partner] = (this.byPartner[a.partner] ?? 0) + a.events.length;
      for (const e of a.events) this.byType[e.type] = (this.byType[e.type] ?? 0) + 1;
    }
    this.pacing = this.onProgress?.(this.events, this.total);
  }
}

// ---------------------------------------------------------------------------------------------------------
// People: one story per person, from registration on, across the partners they are referred to.
// ---------------------------------------------------------------------------------------------------------

const FIRST_NAMES = [
  'Aileen',
  'Alasdair',
  'Amira',
  'Callum',
  'Chloe',
  'Craig',
  'Darren',
  'Eilidh',
  'Euan',
  'Fiona',
  'Gemma',
  'Hamish',
  'Iona',
  'Jamie',
  'Kayleigh',
  'Kieran',
  'Lewis',
  'Lorna',
  'Mhairi',
  'Morag',
  'Nadia',
  'Ross',
  'Shona',
  'Stuart',
  'Tariq',
  'Zofia',
];
const SURNAMES = [
  'Anderson',
  'Baird',
  'Campbell',
  'Clark',
  'Duncan',
  'Fraser',
  'Gray',
  'Henderson',
  'Hussain',
  'Kowalski',
  'MacDonald',
  'McLeod',
  'Murray',
  'Paterson',
  'Reid',
  'Robertson',
  'Ross',
  'Scott',
  'Stewart',
  'Thomson',
  'Watson',
  'Wilson',
];
const STREETS = [
  'Pennywell Road',
  'West Pilton Park',
  'Muirhouse Avenue',
  'Granton Crescent',
  'Ferry Road',
  'Boswall Parkway',
  'Crewe Road North',
  'Royston Mains Street',
];
const WHAT_MATTERS = [
  'Keeping my flat and getting on top of the rent arrears',
  'Seeing my kids more and being a good dad',
  'Getting out of the house and meeting people',
  'Finding work that fits around my health',
  'Feeling less anxious when I have to go to appointments',
  'Sorting out my benefits so I can buy food every week',
  'Getting back into football and keeping fit',
  'Learning to read and write better',
];
const NOTES = [
  'Met at the drop-in; talked about the letter from the council and what it means.',
  'Phoned to check in after the housing appointment; feeling more hopeful.',
  'Went together to the job centre; agreed next steps for the work search.',
  'Talked through the electricity debt and called the supplier together.',
  'Came to the art group for the first time and stayed for lunch.',
  'Missed the last session; called to see how things are, no answer, left a message.',
  'Helped fill in the PIP form; to post it on Monday.',
  'Quiet today; talked about family and what a good week would look like.',
];
const SUPPORT = [
  'Food bank referral and a bag of shopping',
  'Bus pass for a month',
  'Help with the gas meter',
  'Kit for the football sessions',
  'Went with them to the GP',
  'Advice on a council tax reduction',
  'Paid for an art class',
];
const OUTCOMES = [
  'I have a home I can keep now',
  'I feel like people know me here',
  'I got the job at the garden centre',
  'I am not scared of opening letters any more',
  'I started volunteering on Thursdays',
];
const REASONS = [
  'Needs support with housing and debt',
  'Wants to join a group and meet people',
  'Would benefit from regular exercise and a team',
  'Needs specialist mental health support',
  'Family support needed after a crisis',
  'Needs help with a benefits appeal',
];
const MOVE_REASONS: Partial<Record<ReferralStatus, string[]>> = {
  rejected: ['We do not have capacity this month', 'Outside our area of work; suggest another partner'],
  'on-hold': ['Person is in hospital for a while', 'Waiting for the person to be ready'],
  failed: ['We could not reach the person after several tries', 'Person moved away from the area'],
  cancelled: ['Person no longer wants the referral', 'Sorted out by our own team in the end'],
};
const MEASURES = [
  'How hopeful I feel',
  'How well I am sleeping',
  'How connected I feel',
  'How in control of money I feel',
];
const WORKERS = 12;

interface Story {
  appends: Append[];
  events: number;
  toPartners: number;
  toStatutory: number;
}

const worker = (rng: Rng, partner: string) => `${partner}-worker-${rng.int(1, WORKERS)}`;
const INTAKE = 'system:referral-intake';

/**
 * One person's story, at most `budget` events: everything that happened from their arrival until the place's
 * end. Actions run in time order; each records through the deciders as the services would.
 */
async function story(place: Place, rng: Rng, keys: KeyRing, arrival: number, budget: number): Promise<Story> {
  const { consortium, partners, endAt } = place;
  const streams = new Streams(rng);
  const agenda: { t: number; run: () => unknown }[] = [];
  const at = (t: number, run: () => unknown) => {
    if (t <= endAt) agenda.push({ t, run });
  };
  const personRef = `${consortium.referencePrefix}-${Array.from({ length: 10 }, () => CROCKFORD[rng.int(0, 31)]).join('')}`;
  const home = rng.weighted(partners.map((p, i) => [p, i === 0 ? 3 : 2] as const));
  const keyWorker = new Map<string, string>([[home, worker(rng, home)]]);
  const workerAt = (p: string) => {
    if (!keyWorker.has(p)) keyWorker.set(p, worker(rng, p));
    return keyWorker.get(p) as string;
  };
  const by = (partner: string, t: number, extra: Partial<Acting> = {}): Acting => ({
    actor: workerAt(partner),
    correlationId: rng.uuid(),
    at: t,
    ...extra,
  });
  const sealer = (kind: RecordKind, when: string, v: unknown) =>
    Promise.resolve(keys.seal(personRef, kind, when, v));
  const onJourney = (partner: string, command: Parameters<typeof person.decide>[0], t: number) =>
    streams.record(partner, person, personStream(personRef), personRef, command, by(partner, t));
  const counts = { events: 0, toPartners: 0, toStatutory: 0 };
  const stay =
    rng.weighted([
      [rng.int(14, 60), 2],
      [rng.int(60, 365), 5],
      [rng.int(365, 900), 3],
    ] as const) * DAY;
  const until = arrival + stay;
  const within = (from: number, to: number) => from + rng.next() * Math.max(0, to - from);

  // Registration, as RegisterPersonHandler does it.
  at(arrival, () => {
    const name = `${rng.pick(FIRST_NAMES)} ${rng.pick(SURNAMES)}`;
    const dateOfBirth = iso(Date.UTC(rng.int(1945, 2006), rng.int(0, 11), rng.int(1, 28))).slice(0, 10);
    keys.addPerson(personRef, { name, dateOfBirth });
    const when = iso(arrival);
    const identity = (v: unknown) => keys.seal(personRef, 'identity', when, v);
    const personal = {
      name: identity(name),
      dateOfBirth: identity(dateOfBirth),
      contact: identity({
        phone: `+44 131 ${rng.int(200, 999)} ${rng.int(1000, 9999)}`,
        address: `${rng.int(1, 120)} ${rng.pick(STREETS)}, Edinburgh EH4`,
      }),
      whatMatters: keys.seal(personRef, 'what-matters', when, rng.pick(WHAT_MATTERS)),
    };
    onJourney(home, { type: 'RegisterPerson', personRef, personal, at: when }, arrival);
  });
  const giveConsent = (partner: string, t: number) => {
    const consentId = rng.uuid();
    at(t, () => {
      const others = rng.some(
        partners.filter((p) => p !== partner),
        0,
        partners.length - 1,
      );
      const purposes = ['support', 'referral'];
      if (rng.chance(0.2)) purposes.push('case-study');
      if (rng.chance(0.7)) purposes.push('aggregate-evidence');
      streams.record(
        partner,
        consent,
        consentStream(personRef),
        personRef,
        {
          type: 'GiveConsent',
          personRef,
          consentId,
          partners: [partner, ...others],
          purposes: purposes.filter((p) => consortium.consentPurposes.includes(p)),
          validFrom: iso(t),
          validUntil: rng.chance(0.5) ? iso(t + 730 * DAY) : null,
          at: iso(t),
        },
        by(partner, t),
      );
    });
    if (rng.chance(0.03))
      at(within(t + DAY, until + 90 * DAY), () =>
        streams.record(
          partner,
          consent,
          consentStream(personRef),
          personRef,
          { type: 'WithdrawConsent', personRef, consentId, at: iso(agendaTime) },
          by(partner, agendaTime),
        ),
      );
  };
  if (rng.chance(0.85)) giveConsent(home, arrival + rng.int(1, 120) * MINUTE);

  // The work at a partner over a period: contacts, support, the life system, reflections, outcomes, wellbeing.
  const work = (partner: string, from: number, to: number, scale: number) => {
    const contacts = Math.max(2, Math.round(((to - from) / (14 * DAY)) * (0.6 + rng.next()) * scale));
    const record = (path: keyof typeof JOURNEY_RECORDS, t: number, input: object) =>
      at(t, async () => {
        const occurredAt = iso(t - rng.int(0, 180) * MINUTE);
        const command = await JOURNEY_RECORDS[path].command(
          { occurredAt, ...input } as never,
          rng.uuid(),
          sealer,
          iso(t),
        );
        onJourney(partner, command, t);
      });
    for (let i = 0; i < contacts; i++) {
      const visit = rng.chance(0.55);
      record('contacts', within(from, to), {
        kind: visit ? 'visit' : 'phone-call',
        durationMinutes: visit ? rng.int(20, 120) : rng.int(5, 45),
        ...(rng.chance(0.7) ? { notes: rng.pick(NOTES) } : {}),
      });
    }
    for (let i = Math.round(contacts * 0.25); i > 0; i--)
      record('support', within(from, to), {
        kind: rng.pick(['advice', 'advocacy', 'practical', 'financial', 'emotional', 'activity', 'other']),
        costPounds: rng.chance(0.6) ? 0 : rng.int(5, 250),
        ...(rng.chance(0.7) ? { description: rng.pick(SUPPORT) } : {}),
      });
    for (let i = to - from > 180 * DAY ? 2 : 1; i > 0; i--) {
      const themes = rng.some(consortium.themes, 1, 3);
      record('life-system', within(from, to), {
        actors: [
          { name: 'Sister', relationship: 'family', helps: true },
          { name: 'Housing officer', relationship: 'service' },
        ],
        factors: themes.map((theme) => ({ factor: `Worries about ${theme}`, theme })),
        relationships: ['Sister and housing officer have never spoken'],
        themes,
      });
    }
    for (let i = Math.max(1, Math.round(contacts / 8)); i > 0; i--)
      record('reflections', within(from, to), {
        ...(rng.chance(0.5) ? { text: 'Things feel a bit steadier than last month' } : {}),
        measures: rng
          .some(MEASURES, 1, 3)
          .map((measure) => ({ measure, value: rng.int(1, 10), min: 1, max: 10 })),
      });
    if (rng.chance(0.6)) record('outcomes', within((from + to) / 2, to), { words: rng.pick(OUTCOMES) });
    if (place.swemwbs)
      for (let i = 0, n = rng.int(2, 4); i < n; i++) {
        const lift = Math.min(2, Math.floor((i * rng.int(0, 3)) / 2));
        record('wellbeing', from + ((to - from) * i) / n + DAY, {
          items: Array.from({ length: 7 }, () => Math.min(5, rng.int(1, 4) + lift)),
        });
      }
  };
  work(home, arrival, until, 1);
  if (rng.chance(0.4))
    at(within(arrival + 30 * DAY, until), () => {
      const t = agendaTime;
      onJourney(
        home,
        {
          type: 'ReviseWhatMatters',
          whatMatters: keys.seal(personRef, 'what-matters', iso(t), rng.pick(WHAT_MATTERS)),
          at: iso(t),
        },
        t,
      );
    });

  // Referrals: onward to partners (both sides hold them) and up to statutory bodies (the referrer only).
  const referralCount = rng.weighted([
    [0, 35],
    [1, 40],
    [2, 18],
    [3, 7],
  ] as const);
  for (let i = 0; i < referralCount; i++) {
    const toPartner = rng.chance(0.75) && partners.length > 1;
    const to = toPartner
      ? rng.pick(partners.filter((p) => p !== home))
      : rng.pick(consortium.statutoryBodies).id;
    const t0 = within(arrival + DAY, until);
    if (t0 > endAt) continue;
    if (toPartner) counts.toPartners++;
    else counts.toStatutory++;
    const referralId = rng.uuid();
    const stream = referralStream(referralId);
    /** A move by one side, and the other side taking it in as its intake would (changedAt: the event's time). */
    const move = (side: string, other: string | null, status: ReferralStatus, t: number) => {
      const reasons = MOVE_REASONS[status];
      const acting = by(side, t);
      const [changed] = streams.record(
        side,
        referral,
        stream,
        personRef,
        {
          type: 'ChangeReferralStatus',
          referralId,
          partner: side,
          status,
          reason: reasons ? keys.seal(personRef, 'referral-reasons', iso(t), rng.pick(reasons)) : null,
          at: iso(t),
        },
        acting,
      );
      if (!other) return;
      const taken = t + rng.int(1, 30) * 1000;
      streams.record(
        other,
        referral,
        stream,
        personRef,
        {
          type: 'ReceiveReferralUpdate',
          referralId,
          status,
          changedBy: side,
          changedAt: changed.metadata.occurredAt,
          at: iso(taken),
        },
        { actor: INTAKE, correlationId: acting.correlationId, causationId: changed.id, at: taken },
      );
    };
    at(t0, () => {
      const acting = by(home, t0);
      const facts = { referralId, personRef, fromPartner: home, toOrganisation: to };
      const reason = keys.seal(personRef, 'referral-reasons', iso(t0), rng.pick(REASONS));
      const [requested] = streams.record(
        home,
        referral,
        stream,
        personRef,
        { type: 'RequestReferral', ...facts, reason, at: iso(t0) },
        acting,
      );
      if (!toPartner) return;
      const taken = t0 + rng.int(1, 30) * 1000;
      streams.record(
        to,
        referral,
        stream,
        personRef,
        { type: 'ReceiveReferral', ...facts, requestedAt: iso(t0), at: iso(taken) },
        { actor: INTAKE, correlationId: acting.correlationId, causationId: requested.id, at: taken },
      );
    });
    if (!toPartner) {
      if (rng.chance(0.1)) at(t0 + rng.int(2, 60) * DAY, () => move(home, null, 'cancelled', agendaTime));
      continue;
    }
    const answer =
      t0 +
      rng.weighted([
        [rng.int(1, 72) * HOUR, 6],
        [rng.int(3, 12) * DAY, 3],
      ] as const);
    const fate = rng.weighted([
      ['accepted', 72],
      ['rejected', 8],
      ['unanswered', 14],
      ['cancelled', 6],
    ] as const);
    if (fate === 'rejected') at(answer, () => move(to, home, 'rejected', agendaTime));
    else if (fate === 'cancelled') at(answer, () => move(home, to, 'cancelled', agendaTime));
    else if (fate === 'accepted') {
      at(answer, () => {
        // As ChangeReferralStatusHandler does: the person is welcomed there first.
        const t = agendaTime;
        onJourney(
          to,
          {
            type: 'WelcomePerson',
            personRef,
            via: { kind: 'referral', referralId, fromPartner: home },
            at: iso(t),
          },
          t,
        );
        move(to, home, 'accepted', t);
      });
      const firstContact = answer + rng.int(4, 240) * HOUR;
      const workUntil = firstContact + rng.int(30, 200) * DAY;
      if (rng.chance(0.3)) giveConsent(to, firstContact - HOUR);
      work(to, firstContact, workUntil, 0.6);
      if (rng.chance(0.85)) {
        at(answer + rng.int(1, 14) * DAY, () => move(to, home, 'in-progress', agendaTime));
        const end = rng.weighted([
          ['completed', 70],
          ['failed', 10],
          ['on-hold', 10],
          ['open', 10],
        ] as const);
        if (end !== 'open') at(workUntil + rng.int(1, 20) * DAY, () => move(to, home, end, agendaTime));
      }
    }
  }

  // Run the agenda in time order, within the budget; the last person's story may end early to hit it exactly.
  let agendaTime = arrival;
  let events = 0;
  agenda.sort((a, b) => a.t - b.t);
  let registered = false;
  for (let i = 0; i < agenda.length; i++) {
    const item = agenda[i];
    agendaTime = item.t;
    if (budget - events < 3 && registered) {
      // Less room than the largest action takes (three events): finish with single contacts at home.
      for (; events < budget; events++) {
        const command = await JOURNEY_RECORDS.contacts.command(
          { kind: 'phone-call', occurredAt: iso(agendaTime), durationMinutes: 10 } as never,
          rng.uuid(),
          sealer,
          iso(agendaTime),
        );
        onJourney(home, command, agendaTime);
      }
      break;
    }
    await item.run();
    registered = true;
    events = streams.pendingEvents();
  }
  const appends = streams.drain();
  counts.events = appends.reduce((s, a) => s + a.events.length, 0);
  return { appends, ...counts };
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

// ---------------------------------------------------------------------------------------------------------
// Learning: learning cycles at the four scales, teams' reflective sessions, the issue log. One event each.
// ---------------------------------------------------------------------------------------------------------

interface LearningPlan {
  /** In time order; each records exactly one event when run. */
  actions: { t: number; run: () => unknown }[];
  cycles: number;
  issues: number;
  sessions: number;
}

const TEAMS = ['front-door', 'key-workers', 'groups'];
const PATTERNS = [
  'People are passed between services and tell their story again each time',
  'Rent arrears build up while benefit claims are assessed',
  'Young men do not come back after a first appointment',
  'Isolation gets worse over the winter months',
  'Letters from services are not understood and go unopened',
];
const CHANGES = [
  'Workers meet each Friday to talk about who is stuck',
  'One worker follows a person across partners',
  'A drop-in at the football ground on Saturdays',
];

/**
 * About `target` learning events over the place's years: a quarter reflective sessions, half the stages of
 * learning cycles, a quarter the issue log. Only what happened by the end of the place is kept.
 */
function planLearning(place: Place, rng: Rng, streams: Streams, target: number): LearningPlan {
  const { partners, startAt, endAt } = place;
  const span = endAt - startAt;
  const actions: LearningPlan['actions'] = [];
  const at = (t: number, run: () => unknown) => {
    if (t <= endAt) actions.push({ t, run });
  };
  const by = (actor: string, t: number): Acting => ({ actor, correlationId: rng.uuid(), at: t });
  const plan: LearningPlan = { actions, cycles: 0, issues: 0, sessions: 0 };

  for (let i = 0, n = Math.round(target / 4); i < n; i++, plan.sessions++) {
    const partner = rng.pick(partners);
    const team = rng.pick(TEAMS);
    const t = startAt + ((i + rng.next()) / n) * span;
    const teamId = `${partner}.${team}`;
    at(t, () =>
      streams.record(
        partner,
        teamReflection,
        teamReflectionStream(teamId),
        teamId,
        {
          type: 'RecordReflectiveSession',
          sessionId: rng.uuid(),
          team,
          heldAt: iso(t - rng.int(1, 48) * HOUR),
          whatHappened: rng.pick(PATTERNS),
          whatIsWorking: 'Meeting people where they already are',
          whatIsWorkingLessWell: 'Waiting lists for specialist support',
          whatShouldChange: rng.pick(CHANGES),
          attendeeCount: rng.int(3, 12),
          at: iso(t),
        },
        by(`${partner}-worker-${rng.int(1, WORKERS)}`, t),
      ),
    );
  }

  const cycleIds: string[] = [];
  for (let planned = 0; planned < target / 2; plan.cycles++) {
    const partner = rng.pick(partners);
    const scale = rng.weighted<CycleScale>([
      ['person', 3],
      ['team', 3],
      ['organisation', 2.5],
      ['place', 1.5],
    ]);
    const actor = scale === 'place' ? `${partner}-steward` : `${partner}-worker-${rng.int(1, WORKERS)}`;
    const cycleId = rng.uuid();
    const stream = learningCycleStream(cycleId);
    let t = startAt + rng.next() * span;
    const step = (command: Record<string, unknown> & { type: string }) => {
      const when = t;
      planned++;
      at(when, () =>
        streams.record(
          partner,
          learningCycle,
          stream,
          cycleId,
          { ...command, cycleId, at: iso(when) } as never,
          by(actor, when),
        ),
      );
      t += rng.int(2, 30) * DAY;
    };
    const team = scale === 'team' ? rng.pick(TEAMS) : undefined;
    step({
      type: 'ConveneLearningCycle',
      title: rng.pick(PATTERNS),
      scale,
      owner: { partner, ...(team ? { team } : {}) },
      convenedBy: actor,
    });
    step({ type: 'SetCyclePurpose', purpose: 'That people get the right support the first time they ask' });
    step({
      type: 'RecordSystemUnderstanding',
      actors: ['Workers', 'Housing officers', 'GPs'],
      relationships: ['Workers and housing officers rarely meet'],
      factors: rng.some(place.consortium.themes, 1, 3),
      learningTogether: null,
    });
    if (cycleIds.length && rng.chance(0.5))
      step({
        type: 'LinkCycles',
        to: rng.pick(cycleIds),
        relation: rng.pick<CycleLinkRelation>([
          'arose-from-pattern-in',
          'convened-by',
          'informs',
          'escalates-to',
        ]),
      });
    cycleIds.push(cycleId);
    const findings = () => ({
      patternsSeen: [rng.pick(PATTERNS)],
      learningForThisScale: 'Trust comes before any form is filled in',
      learningForOtherSystems: ['Statutory services could accept a partner worker as a named contact'],
    });
    for (let e = rng.int(1, 3); e > 0; e--) {
      const experimentId = rng.uuid();
      step({
        type: 'DesignExperiment',
        experimentId,
        question: 'What happens if one worker stays with a person across every door?',
        actions: [rng.pick(CHANGES)],
        dataToCollect: ['Stories from the people supported', 'How many times a story is told'],
        sensemaking: 'Together at the monthly partners meeting',
        safeToFail: 'Small, for eight weeks, with the usual support alongside',
        countermeasures: [],
      });
      step({ type: 'StartExperiment', experimentId });
      for (let l = rng.int(0, 2); l > 0; l--)
        step({ type: 'RecordExperimentLearning', experimentId, ...findings() });
      step({ type: 'ConcludeExperiment', experimentId, ...findings() });
    }
    step({ type: 'RecordEmbedding', bauChanges: [rng.pick(CHANGES)] });
    if (rng.chance(0.6))
      step({
        type: 'RecordInfluencing',
        changes: [
          {
            whose: 'City of Edinburgh Council',
            direction: 'vertical',
            change: 'Name a housing officer per street',
          },
        ],
      });
    step({
      type: 'RecordCycleManagement',
      operatingEffectively: 'Mostly; the meetings keep slipping',
      whatNeedsToChange: null,
      timeToAllocate: 'Two hours a fortnight',
      resources: [],
      enablers: ['A room at the arts centre'],
      barriers: [],
      connectWith: [],
    });
    if (rng.chance(0.5))
      step({
        type: 'RecordCycleGovernance',
        areLessonsBeingLearnt: 'Yes, slowly',
        howLearningChangesPractice: 'Workers change how they first meet people',
        howPracticeBecomesInfrastructure: 'Written into the induction',
        howLearningAchievesPurpose: 'Fewer people fall between services',
        howWeKnow: 'People tell us, and the referral loop closes',
        evaluationMechanisms: [],
        accountTo: ['The partners board'],
        whoIsIncluded: ['Workers', 'People supported'],
        whoIsExcluded: [],
        areBoundariesRight: 'Not yet: the GPs should be in it',
      });
    if (rng.chance(0.7)) step({ type: 'CloseLearningCycle', why: 'The change is embedded' });
  }

  const levels: IssueLevel[] = [1, 2, 3];
  const owners: IssueOwner[] = ['team', 'leadership', 'government'];
  for (let planned = 0; planned < target / 4; plan.issues++) {
    const partner = rng.pick(partners);
    const issueId = rng.uuid();
    const stream = issueStream(issueId);
    let t = startAt + rng.next() * span;
    let level = rng.pick(levels.slice(0, 2));
    let owner = rng.pick(owners.slice(0, 2));
    const step = (command: Record<string, unknown> & { type: string }, steward = false) => {
      const when = t;
      planned++;
      const actor = steward ? `${partner}-steward` : `${partner}-worker-${rng.int(1, WORKERS)}`;
      at(when, () =>
        streams.record(
          partner,
          issue,
          stream,
          issueId,
          { ...command, issueId, at: iso(when) } as never,
          by(actor, when),
        ),
      );
      t += rng.int(3, 60) * DAY;
    };
    step({
      type: 'RaiseIssue',
      description: rng.pick(PATTERNS),
      level,
      owner,
      raisedFrom: cycleIds.length
        ? { kind: 'learning-cycle', ref: rng.pick(cycleIds) }
        : { kind: 'other', ref: 'team meeting' },
      evidence: [],
    });
    step({ type: 'SetCountermeasure', countermeasure: rng.pick(CHANGES) });
    if (rng.chance(0.5))
      step({ type: 'SetSystemChange', systemChange: 'One assessment shared by every partner' });
    if (rng.chance(0.3) && (level < 3 || owner !== 'government')) {
      const toLevel = level < 3 ? ((level + 1) as IssueLevel) : undefined;
      const toOwner = owners[Math.min(2, owners.indexOf(owner) + 1)];
      step(
        {
          type: 'EscalateIssue',
          level: toLevel,
          owner: toOwner,
          reason: 'Beyond what we can change ourselves',
        },
        toOwner === 'government',
      );
      level = toLevel ?? level;
      owner = toOwner;
    }
    for (let e = rng.int(0, 2); e > 0; e--)
      step({ type: 'LinkEvidence', link: { kind: 'document', ref: `minutes-${rng.uuid()}`, note: null } });
    if (rng.chance(0.5)) {
      step({ type: 'CloseIssue', whatChanged: 'The new normal is in place' });
      if (rng.chance(0.1)) step({ type: 'ReopenIssue', reason: 'It came back over the winter' });
    }
  }
  actions.sort((a, b) => a.t - b.t);
  return plan;
}
