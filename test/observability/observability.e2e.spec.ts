import { writeFileSync } from 'node:fs';
import { MessageBus, topicFor } from '@app/messaging';
import { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { onOwnKafka, startFaultConsortium, TcpProxy } from '../faults/kit';
import { eventually, harnessState, testBus } from '../harness';
import { api, startTestConsortium, tokenFor } from '../harness/consortium';
import { captureObservability } from './capture';
import { metric, scrape } from './metrics-page';

/**
 * One referral, followed: the same trace id on every span from the Fresh Start worker's request to the
 * Spartans inbox and intake (across three services, Kafka in between), the same correlation id on every log
 * line it caused, and nothing personal in either. Then the metrics move, and readiness names what is down.
 */

interface LogLine {
  level: string;
  service?: string;
  correlationId?: string;
  correlationIds?: string[];
  traceId?: string;
  msg?: string;
  [k: string]: unknown;
}

const { lines, spans } = captureObservability<LogLine>('debug');

const serviceOf = (s: ReadableSpan) => String(s.resource.attributes['service.name']);
const describeSpan = (s: ReadableSpan) => `${serviceOf(s)}: ${s.name}`;

// On the kcat cluster and PostgreSQL, and as `npm start` runs it (PGlite, the in-process bus): the same trace.
describe.each(['real', 'embedded'] as const)(
  'a referral, observed from the request to the inbox (%s)',
  (setting) => {
    let c: RunningConsortium;
    let operatorBus: MessageBus;
    let fs: string;
    let sp: string;
    let fsWorker: string;
    let spWorker: string;
    let personRef: string;
    const NAME = 'Eilidh Observed';
    /** The projection's consumer group (its generation moves with each rebuild). */
    let projectionGroup: string;

    beforeAll(async () => {
      c = await startTestConsortium(setting);
      if (setting === 'real') operatorBus = testBus(c.consortium.id, 'observability-operator');
      fs = c.partners.get('fresh-start')!.url;
      sp = c.partners.get('spartans')!.url;
      fsWorker = await tokenFor(c, 'fresh-start', 'worker');
      spWorker = await tokenFor(c, 'spartans', 'worker');
      const r = await api(fs, 'POST', '/people', fsWorker, {
        name: NAME,
        dateOfBirth: '1991-02-03',
        whatMatters: 'A place of her own',
      });
      expect(r.status).toBe(201);
      personRef = r.body.personRef as string;
      const consent = await api(fs, 'POST', `/people/${personRef}/consents`, fsWorker, {
        partners: ['spartans'],
        purposes: ['referral', 'support'],
      });
      expect(consent.status).toBe(201);
      const [{ generation }] = await c.projection.dataSource.query(
        `SELECT generation FROM ${c.schemaOf('projection')}.projection_state`,
      );
      projectionGroup = `${c.consortium.id}.projection.g${generation}`;
    }, 60000);
    afterAll(async () => {
      // The captured lines, for reading after a run (they are what an operator's log collector would get).
      writeFileSync(
        `test-artifacts/observability-log-${setting}.jsonl`,
        lines.map((l) => JSON.stringify(l)).join('\n'),
      );
      await operatorBus?.close();
      await c?.stop();
    });

    it('shows one trace and one correlation id from the worker at Fresh Start to the Spartans inbox', async () => {
      const correlationId = `referral-observed-${setting}`;
      const res = await fetch(`${fs}/referrals`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${fsWorker}`,
          'content-type': 'application/json',
          'x-correlation-id': correlationId,
        },
        body: JSON.stringify({ personRef, toOrganisation: 'spartans', reason: 'Football on Tuesdays' }),
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-correlation-id')).toBe(correlationId);
      const { referralId } = (await res.json()) as { referralId: string };

      // It reaches the Spartans inbox (the projection) and Spartans' own store (the intake).
      await eventually(async () => {
        const inbox = await api(c.projection.url, 'GET', '/referrals/inbox', spWorker);
        if (inbox.status !== 200)
          throw new Error(`the inbox answered ${inbox.status}: ${JSON.stringify(inbox.body)}`);
        return (inbox.body.referrals as { referralId: string }[]).some((r) => r.referralId === referralId)
          ? true
          : undefined;
      }, 'the referral in the Spartans inbox');
      await eventually(async () => {
        const events = await c.partners
          .get('spartans')!
          .store.readLog({ transactionId: '0', position: 0 }, 1000);
        return events.some((e) => e.type === 'ReferralReceived' && e.metadata.correlationId === correlationId)
          ? true
          : undefined;
      }, 'Spartans to take the referral in');

      // One trace: the server span at Fresh Start is its root, and every hop is in it.
      const answered = await eventually(
        async () => lines.find((l) => l.correlationId === correlationId && l.msg === 'answered'),
        'the log line of the request',
      );
      const traceId = answered.traceId as string;
      const server = await eventually(
        async () =>
          spans
            .getFinishedSpans()
            .find((s) => s.spanContext().traceId === traceId && s.name === 'POST /referrals'),
        'the server span of the request',
      );
      expect(serviceOf(server)).toBe('fresh-start');
      const expected = [
        'fresh-start: POST /referrals',
        'fresh-start: command RequestReferral',
        'fresh-start: append',
        'fresh-start: publish',
        `projection: consume ${projectionGroup}`,
        `spartans: consume ${c.consortium.id}.spartans.referral-intake`,
        'spartans: take in ReceiveReferral',
        'spartans: command TakeInReferral',
        'spartans: append',
        'spartans: publish',
      ];
      const traceOf = () => spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      await eventually(async () => {
        const names = new Set(traceOf().map(describeSpan));
        return expected.every((e) => names.has(e)) ? true : undefined;
      }, 'every span of the referral in one trace').catch(() => undefined);
      const inTrace = traceOf();
      expect([...new Set(inTrace.map(describeSpan))]).toEqual(expect.arrayContaining(expected));
      // Each span but the root has its parent in the same trace: one tree, not fragments.
      const ids = new Set(inTrace.map((s) => s.spanContext().spanId));
      for (const s of inTrace)
        if (s !== server) expect(ids.has(s.parentSpanContext?.spanId ?? '')).toBe(true);
      expect(server.parentSpanContext).toBeUndefined();
      // The relay's publish is the append's child, though it ran later: the context travelled in the event.
      const append = inTrace.find((s) => describeSpan(s) === 'fresh-start: append')!;
      const publish = inTrace.find((s) => describeSpan(s) === 'fresh-start: publish')!;
      expect(publish.parentSpanContext?.spanId).toBe(append.spanContext().spanId);

      // The same correlation id on the log lines of all three services, and their trace id on them.
      const correlated = lines.filter(
        (l) => l.correlationId === correlationId || l.correlationIds?.includes(correlationId),
      );
      const services = new Set(correlated.map((l) => l.service));
      // (The other partners' intakes also take the event and pass it by: their lines carry it too.)
      expect([...services]).toEqual(expect.arrayContaining(['fresh-start', 'projection', 'spartans']));
      expect(correlated.find((l) => l.service === 'fresh-start' && l.msg === 'answered')).toMatchObject({
        route: '/referrals',
        status: 201,
        traceId,
      });
      // A batch of this command's events alone is in its trace; one shared with another command's lists both ids.
      const projected = correlated.filter((l) => l.service === 'projection' && l.msg === 'took a batch');
      expect(projected.length).toBeGreaterThan(0);
      for (const l of projected.filter((p) => p.correlationId === correlationId))
        expect(l.traceId).toBe(traceId);

      // Nothing personal in a log line or a span: no name, no reason, no consortium reference.
      const logged = JSON.stringify(lines);
      const traced = JSON.stringify(
        spans.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })),
      );
      for (const secret of [NAME, 'Football on Tuesdays', personRef]) {
        expect(logged).not.toContain(secret);
        expect(traced).not.toContain(secret);
      }
      // The route pattern, not the path, where a path holds a reference.
      expect(lines.some((l) => l.route === '/people/:personRef/consents')).toBe(true);
    });

    // Dead letters are brought by a second client of the cluster: on Kafka only (the in-process bus is the process's own).
    if (setting === 'real')
      it('counts commands, conflicts and dead letters at /metrics on every service', async () => {
        const before = {
          fs: await scrape(fs),
          sp: await scrape(sp),
          projection: await scrape(c.projection.url),
        };
        const sent = await api(fs, 'POST', '/referrals', fsWorker, {
          personRef,
          toOrganisation: 'spartans',
          reason: 'A second try',
        });
        expect(sent.status).toBe(201);
        const referralId = sent.body.referralId as string;
        const afterCommand = await scrape(fs);
        const requested = { command: 'RequestReferral', outcome: 'done', service: 'fresh-start' };
        expect(metric(afterCommand, 'hls_commands_total', requested)).toBe(
          metric(before.fs, 'hls_commands_total', requested) + 1,
        );
        expect(metric(afterCommand, 'hls_appends_total', { outcome: 'appended' })).toBeGreaterThan(
          metric(before.fs, 'hls_appends_total', { outcome: 'appended' }),
        );

        // Accepted once at Spartans, then again: the second is a 409, counted as a conflict.
        await eventually(async () => {
          const r = await api(sp, 'POST', `/referrals/${referralId}/acceptance`, spWorker);
          return r.status === 200 || r.status === 201 ? r : undefined;
        }, 'the referral to reach Spartans and be accepted');
        const again = await api(sp, 'POST', `/referrals/${referralId}/acceptance`, spWorker);
        expect(again.status).toBe(409);
        const conflict = { command: 'ChangeReferralStatus', cause: 'refused' };
        expect(metric(await scrape(sp), 'hls_conflicts_total', conflict)).toBe(
          metric(before.sp, 'hls_conflicts_total', conflict) + 1,
        );
        expect(
          metric(await scrape(sp), 'hls_commands_total', {
            command: 'ChangeReferralStatus',
            outcome: 'conflict',
          }),
        ).toBeGreaterThanOrEqual(1);

        // Poison on the person topic: the projection dead-letters it and counts it.
        const dead = { group: projectionGroup, topic: topicFor(c.consortium.id, 'person') };
        await operatorBus.publishRaw([
          { topic: topicFor(c.consortium.id, 'person'), key: 'poison', payload: '{"truncated": ' },
        ]);
        await eventually(async () => {
          const page = await scrape(c.projection.url);
          return metric(page, 'hls_dead_letters_total', dead) ===
            metric(before.projection, 'hls_dead_letters_total', dead) + 1
            ? true
            : undefined;
        }, 'the dead letter to be counted');

        // The projection's age and each partition's lag are measured at scrape time (from Kafka: a scrape under load
        // may go without a figure it could not get in time, so the next one is looked at).
        await eventually(async () => {
          const page = await scrape(c.projection.url);
          return /^hls_projection_age_seconds\{service="projection"\} \d/m.test(page) &&
            /^hls_consumer_lag_messages\{group="[^"]+",topic="[^"]+",partition="\d"/m.test(page)
            ? true
            : undefined;
        }, 'the projection age and the consumer lag per partition');
        await eventually(async () => {
          const page = await scrape(fs);
          return /^hls_relay_lag_positions\{relay="fresh-start.relay",service="fresh-start"\} \d+$/m.test(
            page,
          )
            ? true
            : undefined;
        }, "the relay's lag");
        // The portal has its own.
        expect(await scrape(c.portal.url)).toContain('hls_http_request_duration_seconds');
      });
  },
);

describe('readiness', () => {
  let proxy: TcpProxy;
  let c: RunningConsortium;

  beforeAll(async () => {
    const url = new URL(harnessState().databaseUrl);
    proxy = new TcpProxy(url.hostname, Number(url.port || 5432));
    await proxy.start();
    c = await startFaultConsortium(
      (id) => testBus(id, 'readiness'),
      proxy.urlFor(harnessState().databaseUrl),
    );
  }, 60000);
  afterAll(async () => {
    await proxy?.restore();
    await c?.stop();
    await proxy?.stop();
  });

  const ready = async (base: string) => {
    const res = await fetch(`${base}/health/ready`);
    return { status: res.status, body: (await res.json()) as Record<string, Record<string, unknown>> };
  };

  it('is 200 with every check up, 503 naming PostgreSQL while the database is away, and 200 again after', async () => {
    const fs = c.partners.get('fresh-start')!.url;
    const up = await ready(fs);
    expect(up.status).toBe(200);
    expect(up.body.info).toMatchObject({
      postgresql: { status: 'up' },
      'key-store': { status: 'up' },
    });
    expect(up.body).not.toHaveProperty('degraded');
    expect((await ready(c.projection.url)).status).toBe(200);
    expect((await ready(c.portal.url)).status).toBe(200);
    expect((await fetch(`${fs}/health/live`)).status).toBe(200);
    expect((await fetch(`${fs}/health`)).status).toBe(200);

    await proxy.cut();
    const down = await ready(fs);
    expect(down.status).toBe(503);
    expect(down.body.error).toHaveProperty('postgresql');
    expect(down.body.error.postgresql).toMatchObject({ status: 'down' });
    expect((await ready(c.projection.url)).status).toBe(503);
    // Alive all the same: a probe must not restart a service for its database's sake.
    expect((await fetch(`${fs}/health/live`)).status).toBe(200);

    await proxy.restore();
    await eventually(async () => ((await ready(fs)).status === 200 ? true : undefined), 'ready again');
  });
});

describe('readiness with Kafka away', () => {
  const { kafka, c } = onOwnKafka('readiness-kafka');

  it('stays ready with Kafka reported down while the cluster is frozen (partners keep recording), alive, and clear once it is back', async () => {
    const fs = c().partners.get('fresh-start')!.url;
    const ready = async (base: string) => {
      const res = await fetch(`${base}/health/ready`);
      return { status: res.status, body: (await res.json()) as Record<string, Record<string, unknown>> };
    };
    expect((await ready(fs)).status).toBe(200);
    kafka().freeze();
    try {
      const down = await ready(fs);
      expect(down.status).toBe(200);
      expect(down.body.degraded).toHaveProperty('kafka');
      expect(down.body.degraded.kafka).toMatchObject({ status: 'down' });
      expect(down.body.info).toMatchObject({ postgresql: { status: 'up' }, 'key-store': { status: 'up' } });
      const projection = await ready(c().projection.url);
      expect(projection.status).toBe(200);
      expect(projection.body.degraded).toHaveProperty('kafka');
      expect((await fetch(`${fs}/health/live`)).status).toBe(200);
    } finally {
      kafka().resume();
    }
    await eventually(
      async () => ((await ready(fs)).body.degraded === undefined ? true : undefined),
      'Kafka reported up again',
      30000,
    );
  });
});
