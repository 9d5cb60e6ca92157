import { randomBytes } from 'node:crypto';
import { loadConsortium } from '@app/consortium';
import { KafkaBus } from '@app/messaging';
import { TokenKeys } from '@app/platform';
import { startConsortium } from '../apps/consortium/src/consortium-runner';
import { organisationsOf } from '../apps/consortium/src/secrets';
import { Figure, percentile, progress } from './report';

/**
 * From an append at one partner (the HTTP answer to "record a contact") to the event's appearance in the
 * projection's journey view, through the relay and Kafka. Contacts are recorded at a steady rate; a watcher
 * polls the read model every few milliseconds and notes when each one arrives.
 */
export async function appendToViewLatency(
  databaseUrl: string,
  brokers: () => string[],
  events = 2000,
  perSecond = 100,
): Promise<Figure[]> {
  const base = loadConsortium();
  const consortium = { ...base, id: `${base.id}-bench-${randomBytes(3).toString('hex')}` };
  const c = await startConsortium({
    consortium,
    secrets: {
      tokenKeys: TokenKeys.generate(organisationsOf(consortium)),
      matchingSecret: randomBytes(32).toString('base64url'),
    },
    databaseUrl,
    bus: new KafkaBus({ clientId: 'bench', consortiumId: consortium.id, brokers }),
    schemaPrefix: `bench_${randomBytes(3).toString('hex')}_`,
  });
  try {
    const fs = c.partners.get('fresh-start')!.url;
    const token = await c.tokenKeys.sign({
      userId: 'bench',
      name: 'bench',
      organisation: 'fresh-start',
      role: 'worker',
    });
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${fs}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, string>;
    };
    // Many people, so contacts spread over partitions as a place's would.
    const people: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { personRef } = await post('/people', {
        name: `Bench Person ${i}`,
        dateOfBirth: '1980-01-01',
        whatMatters: 'bench',
      });
      people.push(personRef);
    }
    const committed = new Map<string, number>();
    const latencies: number[] = [];
    const table = `${c.schemaOf('projection')}.journey_entries`;
    let watching = true;
    const watcher = (async () => {
      while (watching || committed.size > 0) {
        const pending = [...committed.keys()];
        if (pending.length) {
          const rows: { id: string }[] = await c.projection.dataSource.query(
            `SELECT details->>'contactId' AS id FROM ${table} WHERE event_type = 'ContactRecorded' AND details->>'contactId' = ANY($1)`,
            [pending],
          );
          const seen = performance.now();
          for (const r of rows) {
            latencies.push(seen - (committed.get(r.id) as number));
            committed.delete(r.id);
          }
        }
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    progress(
      `latency: recording ${events} contacts at ${perSecond}/s through HTTP, Kafka and the projection`,
    );
    const started = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < events; i++) {
      const due = started + (i * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inFlight.push(
        post(`/people/${people[i % people.length]}/journey/contacts`, {
          kind: 'visit',
          occurredAt: new Date(Date.now() - 60_000).toISOString(),
          durationMinutes: 30,
        }).then(({ id }) => {
          if (!id) throw new Error('recording a contact answered no id');
          committed.set(id, performance.now());
        }),
      );
      if (i % 500 === 499) progress(`latency: ${i + 1}/${events} recorded`);
    }
    await Promise.all(inFlight);
    const deadline = Date.now() + 30_000;
    while (committed.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    watching = false;
    const lost = committed.size;
    committed.clear();
    await watcher;
    if (lost) throw new Error(`${lost} contacts never reached the journey view`);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    return [
      {
        figure: `append to journey view via Kafka, p50 (${latencies.length} events)`,
        value: p50,
        unit: 'ms',
        goal: '—',
        met: true,
      },
      {
        figure: `append to journey view via Kafka, p99 (${latencies.length} events)`,
        value: p99,
        unit: 'ms',
        goal: 'p99 < 500 ms',
        met: p99 < 500,
      },
    ];
  } finally {
    await c.stop();
  }
}
