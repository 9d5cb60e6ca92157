import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { asRecorded, person, personStream } from '@app/domain';
import { loadStream, PostgresEventStore } from '@app/event-store';
import { createPool } from '@app/platform';
import type { RunningPlace } from './platform.bench';
import { Figure, fmt, percentile, progress } from './report';
import { cpuMeter, partnerSchema, settled, sleep, tokenFor, workerOf } from './services';
import { Settings } from './settings';

/** The rate; and one this machine bears with room to spare (see the note of the figure). */
const GOAL_RATE = 500;
const BEARABLE_RATE = 100;
/** How many of the contacts not yet seen the watcher asks for at a time (the oldest). */
const WATCHED = 200;

/** Records one contact with a person at a partner, at `occurredAt`; resolves to the contact's id once committed. */
interface Recorder {
  record(partner: string, personRef: string, occurredAt: number): Promise<string>;
  close(): Promise<void>;
}

/**
 * From an append at a partner to the event's appearance in the projection's journey view, through the relay,
 * Kafka and the projector, at a sustained 500 events/s spread over every partner and over people already on
 * the place. Measured twice:
 *
 * - through the partner services' HTTP API ("record a contact": the answer means the event is committed),
 *   so the figure includes each command's whole cost on a machine the services share with everything else;
 * - appending to the partners' event stores directly (the decider's events with the metadata a command
 *   writes), so the figure is the event's way from the store to the view alone.
 *
 * Each contact is dated a moment of its own after the run began, so a watcher finds it through the journey's
 * own index (person, time) every few ms.
 */
export async function appendToViewLatency(s: Settings, place: RunningPlace): Promise<Figure[]> {
  const seconds = s.scaled(60, 10);
  const everyService = [...place.partners.values(), place.projection];
  const figures: Figure[] = [];
  for (const run of [
    { how: 'through the partner services’ API', recorder: throughTheApi, rate: GOAL_RATE },
    { how: 'appended to the partners’ stores', recorder: intoTheStores, rate: GOAL_RATE },
    // Beside the goal: the same way at a rate this machine's two cores bear, to tell the pipeline's own time
    // from the queueing of an overloaded machine.
    { how: 'through the partner services’ API', recorder: throughTheApi, rate: BEARABLE_RATE },
  ]) {
    figures.push(...(await measure(place, run.how, run.rate, seconds, await run.recorder(place))));
    await settled(everyService); // the backlog of one run is not the next one's
  }
  return figures;
}

/** POSTs each contact to the partner service, as a worker's browser would, on kept-alive connections. */
async function throughTheApi(place: RunningPlace): Promise<Recorder> {
  const tokens = new Map<string, string>();
  for (const p of place.partners.keys()) tokens.set(p, await tokenFor(place.deployment, workerOf(p)));
  // node:http rather than fetch: the bench shares the machine with the services, and costs it less this way.
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const record: Recorder['record'] = (partner, personRef, occurredAt) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({
        kind: 'visit',
        occurredAt: new Date(occurredAt).toISOString(),
        durationMinutes: 30,
      });
      const url = new URL(`${place.partners.get(partner)?.url}/people/${personRef}/journey/contacts`);
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${tokens.get(partner)}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => {
            const id = res.statusCode === 201 ? (JSON.parse(text) as { id?: string }).id : undefined;
            if (id) resolve(id);
            else reject(new Error(`${res.statusCode} ${text.slice(0, 200)}`));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { record, close: async () => agent.destroy() };
}

/** Appends each contact's event to the person's stream in the partner's store, as the command would. */
async function intoTheStores(place: RunningPlace): Promise<Recorder> {
  // A pool of its own, as a partner service has: appends queued behind a slow moment never starve the watcher.
  const pool = createPool(place.deployment.databaseUrl, 10);
  const stores = new Map<string, PostgresEventStore>();
  for (const p of place.partners.keys())
    stores.set(p, await PostgresEventStore.open({ pool, schema: partnerSchema(place.deployment, p) }));
  const streams = new Map<string, { state: typeof person.initialState; version: number }>();
  const record: Recorder['record'] = async (partner, personRef, occurredAt) => {
    const store = stores.get(partner) as PostgresEventStore;
    const streamId = personStream(personRef);
    const { state, version } = streams.get(streamId) ?? (await loadStream(store, person, streamId));
    const id = randomUUID();
    const at = new Date().toISOString();
    const events = person.decide(
      {
        type: 'RecordContact',
        id,
        kind: 'visit',
        occurredAt: new Date(occurredAt).toISOString(),
        durationMinutes: 30,
        notes: null,
        at,
      },
      state,
    );
    const by = { partner, actor: workerOf(partner).userId, correlationId: randomUUID(), subject: personRef };
    const appended = await store.append(
      streamId,
      version === -1 ? 'no_stream' : version,
      events.map((e) => asRecorded(person, e, { ...by, occurredAt: at }, randomUUID())),
    );
    streams.set(streamId, { state: events.reduce(person.evolve, state), version: appended.version });
    return id;
  };
  return { record, close: () => pool.end() };
}

interface Pending {
  personRef: string;
  occurredAt: number;
  answeredAt: number;
}

async function measure(
  place: RunningPlace,
  how: string,
  perSecond: number,
  seconds: number,
  recorder: Recorder,
): Promise<Figure[]> {
  const total = perSecond * seconds;
  const partners = [...place.partners.keys()];
  const table = `${place.projectionSchema}.journey_entries`;
  const pending = new Map<string, Pending>();
  const latencies: number[] = [];
  const answers: number[] = [];
  let failures = 0;
  const began = Date.now() - 1000;

  let watching = true;
  const watcher = (async () => {
    while (watching || pending.size > 0) {
      if (pending.size) {
        // The oldest few hundred only: under overload thousands wait, and asking for all of them every few ms
        // would load the database the figure is measuring. Newer ones are looked for as the older are seen.
        const waiting = [...pending.values()].slice(0, WATCHED);
        // A look that fails (the machine overloaded for a moment) is simply made again.
        const { rows } = await place.pool
          .query<{ id: string }>({
            // Each contact exactly: its person and its moment, one probe of the journey's index apiece.
            name: 'latency-watch',
            text: `SELECT e.details->>'contactId' AS id
                     FROM unnest($1::text[], $2::timestamptz[]) AS w(person_ref, occurred_at)
                     JOIN ${table} e ON e.person_ref = w.person_ref AND e.occurred_at = w.occurred_at
                    WHERE e.event_type = 'ContactRecorded'`,
            values: [waiting.map((w) => w.personRef), waiting.map((w) => new Date(w.occurredAt))],
          })
          .catch(() => ({ rows: [] as { id: string }[] }));
        const seen = performance.now();
        for (const r of rows) {
          const w = pending.get(r.id);
          if (!w) continue;
          latencies.push(seen - w.answeredAt);
          pending.delete(r.id);
        }
      }
      await sleep(3);
    }
  })();

  progress(
    `latency, ${how}: ${fmt(total)} contacts at ${perSecond}/s for ${seconds} s, over ${partners.length} partners`,
  );
  const started = performance.now();
  const cpu = cpuMeter([...place.partners.values(), place.projection]);
  const inFlight = new Set<Promise<void>>();
  const busy = new Set<string>();
  let next = 0;
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const partner = partners[i % partners.length];
    // One record at a time per person, as one worker would: never a concurrency conflict of the bench's making.
    const people = place.peopleAt.get(partner) as string[];
    let personRef = people[next % people.length];
    for (let k = 0; busy.has(personRef) && k < people.length; k++) personRef = people[++next % people.length];
    next++;
    busy.add(personRef);
    const occurredAt = began + i; // a moment of its own, before now, after anything generated
    const sent = performance.now();
    const done = recorder
      .record(partner, personRef, occurredAt)
      .then((id) => {
        const answeredAt = performance.now();
        answers.push(answeredAt - sent);
        pending.set(id, { personRef, occurredAt, answeredAt });
      })
      .catch((e: Error) => {
        if (failures++ < 3) progress(`latency: a contact failed: ${e.message.slice(0, 200)}`);
      })
      .finally(() => {
        inFlight.delete(done);
        busy.delete(personRef);
      });
    inFlight.add(done);
    if (i % (perSecond * 10) === perSecond * 10 - 1)
      progress(
        `latency: ${fmt(i + 1)}/${fmt(total)} sent, ${inFlight.size} awaiting an answer, ${pending.size} not yet seen`,
      );
  }
  await Promise.all(inFlight);
  await recorder.close();
  const achieved = answers.length / ((performance.now() - started) / 1000);
  const deadline = Date.now() + 60_000;
  while (pending.size > 0 && Date.now() < deadline) await sleep(50);
  watching = false;
  const lost = pending.size;
  const cpuPerContact = cpu(latencies.length);
  pending.clear();
  await watcher;
  const p50 = percentile(latencies, 50);
  const p99 = lost ? Number.POSITIVE_INFINITY : percentile(latencies, 99);
  const note =
    `${how}: ${fmt(answers.length)} contacts committed (${fmt(achieved)}/s achieved), ${failures} failed, ` +
    `${lost} never seen within 60 s; answer p50 ${fmt(percentile(answers, 50))} ms, ` +
    `p99 ${fmt(percentile(answers, 99))} ms; from sending to seen, ${cpuPerContact}`;
  const figure = `append at a partner to visible in the journey view, ${how}, ${perSecond}/s for ${seconds} s`;
  return [
    { id: 'latency', figure: `${figure}, p50`, value: p50, unit: 'ms', goal: '—', met: null },
    {
      id: 'latency',
      figure: `${figure}, p99`,
      value: p99,
      unit: 'ms',
      goal: 'p99 < 250 ms',
      met: p99 < 250 && failures === 0,
      note,
    },
  ];
}
