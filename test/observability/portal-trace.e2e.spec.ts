import { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { RunningConsortium } from '../../apps/consortium/src/consortium-runner';
import { eventually } from '../harness';
import { startTestConsortium } from '../harness/consortium';
import { decode, heading, PortalClient, pageShowing, signedInAs } from '../portal/portal-client';
import { captureObservability } from './capture';

/**
 * Issue 7's trace: a Fresh Start worker's click in the portal, followed to the Spartans inbox. The portal's
 * server span for the form's POST is the root of one trace that holds Fresh Start's request, command, append and
 * publish, the projection's consume and Spartans' intake; and the Spartans worker's inbox page shows the referral.
 */

interface LogLine {
  service?: string;
  correlationId?: string;
  traceId?: string;
  msg?: string;
  method?: string;
  route?: string;
  [k: string]: unknown;
}

const { lines, spans } = captureObservability<LogLine>('info');

const PASSWORD = 'a demo password for the trace';
const NAME = 'Isla Tracewell';
const REASON = 'Training on Thursdays would give her a week with shape';
const REFER_ROUTE = '/worker/people/:ref/referral';

const serviceOf = (s: ReadableSpan) => String(s.resource.attributes['service.name']);
const describeSpan = (s: ReadableSpan) => `${serviceOf(s)}: ${s.name}`;

describe('a referral made in the portal, in one trace to the Spartans inbox', () => {
  let c: RunningConsortium;

  beforeAll(async () => {
    c = await startTestConsortium('real', {}, { portal: { demoPassword: PASSWORD } });
  }, 60_000);
  afterAll(() => c?.stop());

  it('roots the trace at the portal page and carries it through Fresh Start, Kafka, the projection and Spartans', async () => {
    const fs: PortalClient = await signedInAs(c.portal.url, 'fresh-start-worker', PASSWORD);
    await fs.get('/worker/people/new');
    const registered = await fs.submit('/worker/people', {
      name: NAME,
      dateOfBirth: '09/09/1993',
      whatMatters: 'Something to get up for',
      partners: ['fresh-start', 'spartans'],
      purposes: ['support', 'referral'],
    });
    const personRef = /\/worker\/people\/(NE-[0-9A-Z]{10})$/.exec(registered.url)?.[1] as string;
    expect(personRef).toBeDefined();
    await pageShowing(fs, `/worker/people/${personRef}`, NAME);

    // The worker's click: the referral form, posted with its CSRF token.
    const form = await fs.get(`/worker/people/${personRef}/referral`);
    expect(heading(form.html)).toBe('Make a referral');
    const referred = await fs.submit(`/worker/people/${personRef}/referral`, {
      toOrganisation: 'spartans',
      reason: REASON,
    });
    expect(referred.html).toContain('The referral is sent.');

    // The Spartans worker's inbox in the portal shows it (the projection has taken it in).
    const sp = await signedInAs(c.portal.url, 'spartans-worker', PASSWORD);
    const inbox = await pageShowing(sp, '/worker/referrals', REASON);
    expect(decode(inbox.html)).toContain(NAME);

    // The portal's server span for that POST, by its route pattern: the root of the trace.
    const page = await eventually(
      async () =>
        spans.getFinishedSpans().find((s) => serviceOf(s) === 'portal' && s.name === `POST ${REFER_ROUTE}`),
      "the portal's span for the referral form's POST",
    );
    expect(page.parentSpanContext).toBeUndefined();
    expect(page.attributes['http.route']).toBe(REFER_ROUTE);
    const traceId = page.spanContext().traceId;

    const [{ generation }] = await c.projection.dataSource.query(
      `SELECT generation FROM ${c.schemaOf('projection')}.projection_state`,
    );
    const expected = [
      `portal: POST ${REFER_ROUTE}`,
      'fresh-start: POST /referrals',
      'fresh-start: command RequestReferral',
      'fresh-start: append',
      'fresh-start: publish',
      `projection: consume ${c.consortium.id}.projection.g${generation}`,
      `spartans: consume ${c.consortium.id}.spartans.referral-intake`,
      'spartans: take in ReceiveReferral',
    ];
    const traceOf = () => spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    // The intake's spans may end a moment after the inbox shows the referral.
    await eventually(async () => {
      const names = new Set(traceOf().map(describeSpan));
      return expected.every((e) => names.has(e)) ? true : undefined;
    }, 'every span of the referral in the portal’s trace').catch(() => undefined);
    const inTrace = traceOf();
    expect([...new Set(inTrace.map(describeSpan))]).toEqual(expect.arrayContaining(expected));

    // One tree: Fresh Start's request is the portal span's child, and every span's parent is in the trace.
    const request = inTrace.find((s) => describeSpan(s) === 'fresh-start: POST /referrals')!;
    expect(request.parentSpanContext?.spanId).toBe(page.spanContext().spanId);
    const ids = new Set(inTrace.map((s) => s.spanContext().spanId));
    for (const s of inTrace) if (s !== page) expect(ids.has(s.parentSpanContext?.spanId ?? '')).toBe(true);

    // The portal's correlation id is Fresh Start's too, on the lines of both.
    const portalLine = lines.find(
      (l) => l.service === 'portal' && l.msg === 'answered' && l.method === 'POST' && l.route === REFER_ROUTE,
    );
    expect(portalLine).toMatchObject({ traceId, correlationId: expect.any(String) });
    expect(
      lines.find((l) => l.service === 'fresh-start' && l.msg === 'answered' && l.route === '/referrals'),
    ).toMatchObject({ traceId, correlationId: portalLine?.correlationId });

    // Nothing personal in a span: no name, no reason, no consortium reference.
    const traced = JSON.stringify(inTrace.map((s) => ({ name: s.name, attributes: s.attributes })));
    for (const secret of [NAME, REASON, personRef]) expect(traced).not.toContain(secret);
  }, 120_000);
});
