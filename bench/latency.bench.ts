import type { RunningPlace } from './platform.bench';
import { Figure, fmt, percentile, progress } from './report';
import { sleep, tokenFor, workerOf } from './services';
import { Settings } from './settings';

interface Pending {
  personRef: string;
  occurredAt: number;
  answeredAt: number;
}

/**
 * From an append at a partner (the HTTP answer to "record a contact": the event is committed) to the event's
 * appearance in the projection's journey view, through the relay, Kafka and the projector, at a sustained rate
 * spread over every partner and over people already on the place. Each contact is dated a moment of its own
 * after the run began, so a watcher finds it through the journey's own index (person, time) every few ms.
 */
export async function appendToViewLatency(s: Settings, place: RunningPlace): Promise<Figure[]> {
  const perSecond = 500;
  const seconds = s.scaled(60, 10);
  const total = perSecond * seconds;
  const partners = [...place.partners.keys()];
  const tokens = new Map<string, string>();
  for (const p of partners) tokens.set(p, await tokenFor(place.deployment, workerOf(p)));
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
        const waiting = [...pending.values()];
        const { rows } = await place.pool.query<{ id: string }>(
          `SELECT details->>'contactId' AS id FROM ${table}
            WHERE person_ref = ANY($1) AND occurred_at >= $2 AND event_type = 'ContactRecorded'`,
          [
            [...new Set(waiting.map((w) => w.personRef))],
            new Date(Math.min(...waiting.map((w) => w.occurredAt))),
          ],
        );
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
    `latency: ${fmt(total)} contacts at ${perSecond}/s for ${seconds} s, over ${partners.length} partners`,
  );
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  const busy = new Set<string>();
  let next = 0;
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const partner = partners[i % partners.length];
    // One request at a time per person, as one worker would: never a concurrency conflict of the bench's making.
    const people = place.peopleAt.get(partner) as string[];
    let personRef = people[next % people.length];
    for (let k = 0; busy.has(personRef) && k < people.length; k++) personRef = people[++next % people.length];
    next++;
    busy.add(personRef);
    const occurredAt = began + i; // a moment of its own, before now, after anything generated
    const sent = performance.now();
    const request = fetch(
      `${(place.partners.get(partner) as { url: string }).url}/people/${personRef}/journey/contacts`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.get(partner)}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          kind: 'visit',
          occurredAt: new Date(occurredAt).toISOString(),
          durationMinutes: 30,
        }),
      },
    )
      .then(async (res) => {
        const body = (await res.json()) as { id?: string };
        if (!res.ok || !body.id) throw new Error(`${res.status} ${JSON.stringify(body)}`);
        const answeredAt = performance.now();
        answers.push(answeredAt - sent);
        pending.set(body.id, { personRef, occurredAt, answeredAt });
      })
      .catch((e: Error) => {
        const cause = (e as { cause?: Error }).cause?.message ?? '';
        if (failures++ < 3) progress(`latency: a contact failed: ${e.message.slice(0, 200)} ${cause}`);
      })
      .finally(() => {
        inFlight.delete(request);
        busy.delete(personRef);
      });
    inFlight.add(request);
    if (i % (perSecond * 10) === perSecond * 10 - 1)
      progress(
        `latency: ${fmt(i + 1)}/${fmt(total)} sent, ${inFlight.size} awaiting an answer, ${pending.size} not yet seen`,
      );
  }
  await Promise.all(inFlight);
  const achieved = answers.length / ((performance.now() - started) / 1000);
  const deadline = Date.now() + 60_000;
  while (pending.size > 0 && Date.now() < deadline) await sleep(50);
  watching = false;
  const lost = pending.size;
  pending.clear();
  await watcher;
  const p50 = percentile(latencies, 50);
  const p99 = lost ? Number.POSITIVE_INFINITY : percentile(latencies, 99);
  const note =
    `${fmt(answers.length)} contacts answered (${fmt(achieved)}/s achieved), ${failures} failed, ${lost} never seen ` +
    `within 60 s; HTTP answer p50 ${fmt(percentile(answers, 50))} ms, p99 ${fmt(percentile(answers, 99))} ms`;
  const figure = `append at a partner to visible in the journey view, ${perSecond}/s for ${seconds} s`;
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
