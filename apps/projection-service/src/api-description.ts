import { openApiDocument, Public, RouteDoc } from '@app/platform';
import { Controller, Get, Inject } from '@nestjs/common';
import { composeInput, declineInput } from './evidence/evidence-packs.controller';
import { webhookInput } from './feeds/feeds.controller';
import { PROJECTION_RUNTIME, ProjectionRuntime } from './shared/projection-runtime';

/** Every route of the projection service: the source of /openapi.json. */
export const PROJECTION_ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/people/{personRef}/journey',
    action: 'journey.read',
    summary: 'The no-wrong-door journey, within consent (query: purpose)',
    success: [200, 'The journey'],
  },
  {
    method: 'get',
    path: '/people/{personRef}/consents',
    action: 'consent.history',
    summary: 'The person’s consent history',
    success: [200, 'Every consent, in force or not'],
  },
  {
    method: 'get',
    path: '/people/{personRef}/reads',
    action: 'journey.reads',
    summary: 'Who outside the holding partners read the journey',
    success: [200, 'Who, when, why'],
  },
  {
    method: 'get',
    path: '/referrals/inbox',
    action: 'referral.inbox',
    summary:
      'Referrals to the reader’s organisation, newest first (query: mine=true for the worker’s own; limit, before: a page)',
    success: [200, 'The inbox'],
  },
  {
    method: 'get',
    path: '/referrals/sent',
    action: 'referral.sent',
    summary: 'Referrals from the reader’s partner, and their outcome (query: limit, before: a page)',
    success: [200, 'The closed loop'],
  },
  {
    method: 'get',
    path: '/referrals/{referralId}',
    action: 'referral.inbox',
    summary: 'One referral, to the reader’s organisation or from its partner',
    success: [200, 'The referral'],
  },
  {
    method: 'get',
    path: '/learning-cycles',
    action: 'learning.read',
    summary: 'Learning cycles across the place (query: scale, stage, partner)',
    success: [200, 'Cycles, and counts by scale'],
  },
  {
    method: 'get',
    path: '/learning-cycles/{cycleId}',
    action: 'learning.read',
    summary: 'A cycle, its links both ways, its history',
    success: [200, 'The cycle'],
  },
  {
    method: 'get',
    path: '/issues',
    action: 'learning.read',
    summary: 'The issue log (query: level, owner, status)',
    success: [200, 'The issues'],
  },
  {
    method: 'get',
    path: '/issues/{issueId}',
    action: 'learning.read',
    summary: 'An issue and its history',
    success: [200, 'The issue'],
  },
  {
    method: 'get',
    path: '/place',
    action: 'place.read',
    summary: 'The place for a period (query: from, to): aggregates for stewards',
    success: [200, 'The place view'],
  },
  {
    method: 'post',
    path: '/evidence-packs',
    action: 'evidence.compose',
    summary: 'Compose an evidence pack for a statutory body and a period (body: body, period, caseStudies)',
    body: composeInput,
    success: [201, 'The pack’s id'],
  },
  {
    method: 'get',
    path: '/evidence-packs',
    action: 'evidence.read',
    summary: 'Evidence packs: every one for a steward, those published to it for a statutory body',
    success: [200, 'The packs, without their contents'],
  },
  {
    method: 'get',
    path: '/evidence-packs/signing-key',
    action: 'public',
    summary: 'The Ed25519 public key evidence packs are signed with',
    success: [200, 'The key, as PEM, and its id'],
  },
  ...(
    [
      ['', 'The pack as JSON', 'The pack'],
      ['/pack.html', 'The pack as a web page', 'HTML'],
      ['/pack.pdf', 'The pack as PDF, printed by Chromium', 'PDF'],
      ['/tables/{table}', 'One table of the pack as CSV ({table}: <id>.csv)', 'CSV'],
      ['/verification', 'Check a published pack against its signature and every partner’s log', 'The result'],
    ] as const
  ).map(
    ([suffix, summary, what]): RouteDoc => ({
      method: 'get',
      path: `/evidence-packs/{packId}${suffix}`,
      action: 'evidence.read',
      summary,
      success: [200, what],
    }),
  ),
  {
    method: 'post',
    path: '/evidence-packs/{packId}/approval',
    action: 'evidence.approve',
    summary: 'Approve the pack for the steward’s partner',
    success: [201, 'The pack'],
  },
  {
    method: 'post',
    path: '/evidence-packs/{packId}/declination',
    action: 'evidence.approve',
    summary: 'Decline the pack, saying why',
    body: declineInput,
    success: [201, 'The pack'],
  },
  {
    method: 'post',
    path: '/evidence-packs/{packId}/publication',
    action: 'evidence.publish',
    summary: 'Publish an approved pack, signed, to its body’s feed',
    success: [201, 'The pack'],
  },
  {
    method: 'get',
    path: '/feeds/{body}',
    action: 'feed.read',
    summary: 'The body’s feed of published packs (query: after, a cursor; limit)',
    success: [200, 'Entries, and the cursor to ask from next'],
  },
  {
    method: 'get',
    path: '/feeds/{body}/webhook',
    action: 'feed.manage',
    summary: 'The body’s webhook and its latest deliveries with every attempt',
    success: [200, 'The webhook and the delivery log'],
  },
  {
    method: 'put',
    path: '/feeds/{body}/webhook',
    action: 'feed.manage',
    summary: 'Set the body’s webhook; answers a new signing secret, shown once',
    body: webhookInput,
    success: [200, 'The URL and the secret'],
  },
  {
    method: 'delete',
    path: '/feeds/{body}/webhook',
    action: 'feed.manage',
    summary: 'Remove the body’s webhook',
    success: [204, 'Removed'],
  },
  {
    method: 'post',
    path: '/feeds/{body}/deliveries/{deliveryId}/replay',
    action: 'feed.manage',
    summary: 'Attempt a delivery again, dead or not',
    success: [202, 'Pending again'],
  },
];

@Controller('openapi.json')
export class ProjectionApiDescriptionController {
  constructor(@Inject(PROJECTION_RUNTIME) private readonly runtime: ProjectionRuntime) {}

  @Public()
  @Get()
  describe() {
    return openApiDocument(`${this.runtime.consortium.name}: projection service`, '1', PROJECTION_ROUTES);
  }
}
