import { DomainError } from '@app/domain';
import { WrongExpectedVersionError } from '@app/event-store';
import { CloudEvent } from '@app/messaging';
import {
  configureObservability,
  outcomeOf,
  outgoingHeaders,
  ServiceObservability,
  withEvent,
} from '@app/observability';
import { authProviders, HealthController, listen, Problem, TokenKeys } from '@app/platform';
import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { captureObservability } from './capture';

/**
 * One service's observability on its own, without a consortium: what a request's log line holds and hides, how a
 * caller's trace is continued, the scrape token, readiness naming what is down, and how commands' outcomes count.
 */

const { lines, spans } = captureObservability('debug');

@Controller('people')
class PeopleProbeController {
  @Get(':personRef/echo')
  echo() {
    return { ok: true };
  }

  /** What this service would send with a call to another one (as the portal does to the services). */
  @Get('outgoing')
  outgoing() {
    return outgoingHeaders();
  }
}

describe('one service observed', () => {
  let app: INestApplication;
  let url: string;
  let obs: ServiceObservability;
  let databaseUp = true;

  beforeAll(async () => {
    obs = new ServiceObservability('probe-service').addChecks(
      {
        name: 'postgresql',
        check: async () => {
          if (!databaseUp) throw new Error('connect ECONNREFUSED 127.0.0.1:1');
        },
      },
      { name: 'kafka', check: async () => undefined },
    );
    @Module({ controllers: [HealthController, PeopleProbeController], providers: [] })
    class ProbeModule {}
    ({ app, url } = await listen(ProbeModule, { port: 0, name: 'probe', observer: obs.http() }));
  });
  afterAll(async () => {
    configureObservability({ scrapeToken: undefined });
    await app?.close();
    await obs?.close();
  });

  it('logs a request by its route pattern, with its correlation id and trace, continuing the caller’s trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${url}/people/NE-7K2M9QX4TB/echo?name=Morag`, {
      headers: {
        'x-correlation-id': 'caller-chosen-id-1',
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        authorization: 'Bearer secret-token',
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-correlation-id')).toBe('caller-chosen-id-1');
    const line = lines.find((l) => l.msg === 'answered' && l.correlationId === 'caller-chosen-id-1');
    expect(line).toMatchObject({
      level: 'info',
      service: 'probe-service',
      method: 'GET',
      route: '/people/:personRef/echo',
      status: 200,
      traceId,
    });
    const all = JSON.stringify(lines);
    for (const hidden of ['NE-7K2M9QX4TB', 'Morag', 'secret-token']) expect(all).not.toContain(hidden);
    const server = spans.getFinishedSpans().find((s) => s.name === 'GET /people/:personRef/echo');
    expect(server?.spanContext().traceId).toBe(traceId);
    expect(server?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  });

  it('passes its correlation id and trace on to the services it calls', async () => {
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4737';
    const res = await fetch(`${url}/people/outgoing`, {
      headers: { 'x-correlation-id': 'page-request-0001', traceparent: `00-${traceId}-10f067aa0ba902b7-01` },
    });
    const sent = (await res.json()) as Record<string, string>;
    expect(sent['x-correlation-id']).toBe('page-request-0001');
    // The same trace, with this service's server span as the callee's parent.
    const server = spans.getFinishedSpans().find((s) => s.name === 'GET /people/outgoing');
    expect(sent.traceparent).toBe(`00-${traceId}-${server?.spanContext().spanId}-01`);
  });

  it('makes a correlation id where the caller’s is not one it accepts, and hides a reference in an unmatched path', async () => {
    const res = await fetch(`${url}/nowhere/NE-7K2M9QX4TB`, {
      headers: { 'x-correlation-id': 'a b<script>' },
    });
    expect(res.status).toBe(404);
    const made = res.headers.get('x-correlation-id');
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.find((l) => l.correlationId === made && l.msg === 'answered')).toMatchObject({
      route: '/nowhere/:personRef',
      status: 404,
    });
  });

  it('serves /metrics to anyone without a scrape token, and only with it once one is set', async () => {
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    configureObservability({ scrapeToken: 'scrape-me' });
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    const ok = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer scrape-me' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(
      /^hls_http_request_duration_seconds_count\{service="probe-service",method="GET",route="\/people\/:personRef\/echo",status="200"\} 1$/m,
    );
    configureObservability({ scrapeToken: undefined });
  });

  it('is ready while its checks are up, and 503 naming the one that is down', async () => {
    const up = await fetch(`${url}/health/ready`);
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ status: 'ok', info: { postgresql: { status: 'up' } } });
    databaseUp = false;
    const down = await fetch(`${url}/health/ready`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({
      status: 'error',
      error: { postgresql: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:1' } },
      info: { kafka: { status: 'up' } },
    });
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    expect(lines.some((l) => l.msg === 'not ready: postgresql down' && l.level === 'warn')).toBe(true);
    databaseUp = true;
  });

  it('handles an event from the bus in the trace of its publish and with its correlation id', async () => {
    const event = {
      correlationid: 'from-the-event-1',
      type: 'scot.hls.ReferralRequested.v1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    } as CloudEvent;
    await obs.run(() =>
      withEvent(event, 'take in', async () => {
        obs.log.info('taking it in');
      }),
    );
    expect(lines.find((l) => l.msg === 'taking it in')).toMatchObject({
      service: 'probe-service',
      correlationId: 'from-the-event-1',
      traceId: '0af7651916cd43dd8448eb211c80319c',
    });
    const span = spans.getFinishedSpans().find((s) => s.name === 'take in');
    expect(span?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
  });
});

describe('a command’s outcome', () => {
  it.each([
    [
      'a concurrent change',
      new WrongExpectedVersionError('s', 3),
      { outcome: 'conflict', cause: 'concurrent-change' },
    ],
    [
      'a refusal by state',
      new DomainError('conflict', 'already accepted'),
      { outcome: 'conflict', cause: 'refused' },
    ],
    ['bad input', new DomainError('invalid', 'no reason'), { outcome: 'refused' }],
    ['a problem the route raised', new Problem(403, 'Forbidden', 'not yours'), { outcome: 'refused' }],
    ['anything else', new Error('boom'), { outcome: 'failed' }],
  ])('counts %s as %j', (_, error, expected) => {
    expect(outcomeOf(error)).toEqual(expected);
  });
});

// The guard in front of every service lets the probes and the scraper through without a user token.
describe('behind the token guard', () => {
  it('answers /metrics and /health/ready without a token', async () => {
    const obs = new ServiceObservability('guarded');
    @Module({ controllers: [HealthController], providers: [...authProviders(new TokenKeys({}))] })
    class GuardedModule {}
    const { app, url } = await listen(GuardedModule, { port: 0, name: 'guarded', observer: obs.http() });
    try {
      expect((await fetch(`${url}/metrics`)).status).toBe(200);
      expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    } finally {
      await app.close();
      await obs.close();
    }
  });
});
