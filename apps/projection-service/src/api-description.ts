import { openApiDocument, Public, RouteDoc } from '@app/platform';
import { Controller, Get, Inject } from '@nestjs/common';
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
    summary: 'Referrals to the reader’s organisation (query: mine=true for the worker’s own)',
    success: [200, 'The inbox'],
  },
  {
    method: 'get',
    path: '/referrals/sent',
    action: 'referral.sent',
    summary: 'Referrals from the reader’s partner, and their outcome',
    success: [200, 'The closed loop'],
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
