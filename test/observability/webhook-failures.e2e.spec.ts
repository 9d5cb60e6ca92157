import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { eventually } from '../harness';
import { api, startTestConsortium, tokenFor } from '../harness/consortium';
import { publishPack, receiver } from '../harness/evidence';
import { metric, scrape } from './metrics-page';

/**
 * `hls_webhook_failures_total`: a statutory body's system that answers 500 to every delivery. Each failed attempt
 * is counted at the projection service's /metrics, `retrying` while attempts remain and `dead` for the last.
 */
describe('webhook failures at /metrics', () => {
  let c: RunningConsortium;
  const stewards: Record<string, string> = {};
  let nhs: string;

  beforeAll(async () => {
    c = await startTestConsortium(
      'real',
      {},
      { webhooks: { retryBaseMs: 50, intervalMs: 50, maxAttempts: 3 } },
    );
    for (const p of ['fresh-start', 'move-on', 'north-edinburgh-arts', 'spartans'])
      stewards[p] = await tokenFor(c, p, 'steward');
    nhs = await tokenFor(c, 'nhs-lothian', 'statutory-reader');
  }, 60_000);
  afterAll(() => c?.stop());

  it('counts each failed delivery attempt to the body, retrying then dead', async () => {
    const projection = c.projection.url;
    const hook = await receiver([500]);
    try {
      const set = await api(projection, 'PUT', '/feeds/nhs-lothian/webhook', nhs, { url: hook.url });
      expect(set.status).toBe(200);
      const before = await scrape(projection);
      const retrying = { service: 'projection', body: 'nhs-lothian', result: 'retrying' };
      const dead = { service: 'projection', body: 'nhs-lothian', result: 'dead' };

      const packId = await publishPack(projection, stewards, 'spartans', 'nhs-lothian', {
        from: '2026-01-01',
        to: new Date().toISOString().slice(0, 10),
      });
      const delivery = await eventually(async () => {
        const r = await api(projection, 'GET', '/feeds/nhs-lothian/webhook', nhs);
        const d = (r.body.deliveries as { packId: string; status: string; attempts: number }[]).find(
          (x) => x.packId === packId,
        );
        return d?.status === 'dead' ? d : undefined;
      }, 'the delivery to die');
      expect(delivery.attempts).toBe(3);
      expect(hook.received).toHaveLength(3);

      // Three attempts, each answered 500: two while attempts remained, then the last.
      const after = await scrape(projection);
      expect(metric(after, 'hls_webhook_failures_total', retrying)).toBe(
        metric(before, 'hls_webhook_failures_total', retrying) + 2,
      );
      expect(metric(after, 'hls_webhook_failures_total', dead)).toBe(
        metric(before, 'hls_webhook_failures_total', dead) + 1,
      );
      // Only the body that failed: none for another body.
      expect(metric(after, 'hls_webhook_failures_total', { body: 'cec' })).toBe(0);
    } finally {
      await hook.close();
    }
  }, 60_000);
});
