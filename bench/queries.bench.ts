import autocannon from 'autocannon';
import type { RunningPlace } from './platform.bench';
import { Figure, fmt, median, progress } from './report';
import { postgresCpuSeconds, ServiceProcess, settled, tokenFor, workerOf } from './services';
import { Settings } from './settings';

const CONNECTIONS = 50;
const TIMEOUT_S = 20;

interface Load {
  p99: number;
  perSecond: number;
  /** CPU per answered request, in ms: the service's process, and PostgreSQL's. */
  cpu: { service: number; postgres: number };
  note: string;
}

/** The median CPU per request over the runs, the service's and PostgreSQL's. */
const cpuOf = (loads: Load[]) =>
  `${median(loads.map((l) => l.cpu.service)).toFixed(2)} ms in the service + ` +
  `${median(loads.map((l) => l.cpu.postgres)).toFixed(2)} ms in PostgreSQL`;

/** autocannon against the projection service: `next` names each request's path and whose token it carries. */
async function load(
  service: ServiceProcess,
  seconds: number,
  next: () => { path: string; token?: string },
): Promise<Load> {
  const before = { service: service.cpuSeconds(), postgres: postgresCpuSeconds() };
  const result = await autocannon({
    url: service.url,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: TIMEOUT_S,
    requests: [
      {
        setupRequest: (req) => {
          const { path, token } = next();
          return {
            ...req,
            path,
            headers: { ...req.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
          };
        },
      },
    ],
  });
  // A request that timed out took at least the timeout: the histogram holds only those that were answered.
  const p99 = result.timeouts > 0 ? Math.max(result.latency.p99, TIMEOUT_S * 1000) : result.latency.p99;
  const perRequest = (s: number) => (s * 1000) / Math.max(1, result.requests.total);
  const cpu = {
    service: perRequest(service.cpuSeconds() - before.service),
    postgres: perRequest(postgresCpuSeconds() - before.postgres),
  };
  return {
    p99,
    perSecond: result.requests.average,
    cpu,
    note:
      `${fmt(result.requests.total)} answered, ${result.non2xx} not 2xx, ${result.errors} errors, ` +
      `${result.timeouts} timeouts`,
  };
}

/**
 * The journey view and the referral inbox under 50 concurrent clients (autocannon), each beside the projection
 * service's health endpoint under the same load in the same run. The ratio is the health endpoint's p99 over
 * the query's p99 (1 would be a query as quick as answering "ok"); throughput is in the notes.
 */
export async function queryFigures(s: Settings, place: RunningPlace): Promise<Figure[]> {
  const seconds = s.scaled(10, 5);
  const service = place.projection;
  const partners = [...place.partners.keys()];
  const tokens = await Promise.all(partners.map((p) => tokenFor(place.deployment, workerOf(p))));
  const journeys = partners.flatMap((p, i) =>
    (place.peopleAt.get(p) as string[]).map((ref) => ({ path: `/people/${ref}/journey`, token: tokens[i] })),
  );
  let n = 0;
  const health: Load[] = [];
  const journey: Load[] = [];
  const inbox: Load[] = [];
  // More runs than the other figures: each window is short, and on a shared machine a load spike in one says
  // nothing about the query. Each run measures the three back to back (in alternating order, so that a drift
  // falls on both sides), its ratio is taken within the run, and the figure is the median of those ratios.
  const runs = Math.max(s.runs, 5);
  progress(`queries: ${CONNECTIONS} clients, ${seconds} s each, ${runs} runs`);
  for (let run = 1; run <= runs; run++) {
    const order = [
      async () => health.push(await load(service, seconds, () => ({ path: '/health' }))),
      async () => journey.push(await load(service, seconds, () => journeys[n++ % journeys.length])),
      async () =>
        inbox.push(
          await load(service, seconds, () => ({
            path: '/referrals/inbox',
            token: tokens[n++ % tokens.length],
          })),
        ),
    ];
    for (const measure of run % 2 ? order : order.reverse()) await measure();
    progress(
      `queries run ${run}/${runs}: p99 health ${fmt(health[run - 1].p99)} ms, journey ${fmt(journey[run - 1].p99)} ms, ` +
        `inbox ${fmt(inbox[run - 1].p99)} ms`,
    );
    await settled([place.projection]); // requests still being answered after the clients left
  }
  const healthP99 = median(health.map((h) => h.p99));
  const figure = (what: string, loads: Load[]): Figure => {
    const p99 = median(loads.map((l) => l.p99));
    const ratio = median(loads.map((l, i) => health[i].p99 / l.p99));
    return {
      id: 'queries',
      figure: `${what}, p99 under ${CONNECTIONS} concurrent clients (ratio: health p99 / query p99, median of the runs')`,
      value: p99,
      unit: 'ms',
      comparedWith: { what: 'GET /health p99', value: healthP99 },
      ratio,
      goal: 'ratio >= 0.3',
      met: ratio >= 0.3,
      runs: { value: loads.map((l) => l.p99), comparedWith: health.map((h) => h.p99) },
      note:
        `${fmt(median(loads.map((l) => l.perSecond)))} requests/s against health's ` +
        `${fmt(median(health.map((h) => h.perSecond)))}/s (median); CPU per request ` +
        `${cpuOf(loads)} against health's ${cpuOf(health)}; last run: ${loads[loads.length - 1].note}`,
    };
  };
  return [
    figure('journey view GET /people/{ref}/journey', journey),
    figure('referral inbox GET /referrals/inbox', inbox),
  ];
}
