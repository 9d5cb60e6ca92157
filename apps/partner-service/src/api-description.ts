import { openApiDocument, Public, RouteDoc } from '@app/platform';
import { Controller, Get, Inject } from '@nestjs/common';
import { giveConsentInput } from './consent/consent';
import {
  CYCLE_STAGES,
  conveneInput,
  ISSUE_CHANGES,
  raiseIssueInput,
  reflectiveSessionInput,
} from './learning/learning';
import { JOURNEY_RECORD_PATHS, JOURNEY_RECORDS } from './people/journey-records';
import { erasureInput, identifiersInput, registerPersonInput, whatMattersInput } from './people/people';
import { requestReferralInput, statusChangeInput } from './referrals/referrals';
import { PARTNER_RUNTIME, PartnerRuntime } from './shared/partner-runtime';

/** Every route of a partner service, with the schema that validates it: the source of /openapi.json. */
export function partnerRoutes(runtime: PartnerRuntime): RouteDoc[] {
  return [
    {
      method: 'post',
      path: '/people',
      action: 'person.register',
      summary: 'Register a person',
      body: registerPersonInput,
      success: [201, 'The person’s consortium reference'],
    },
    {
      method: 'post',
      path: '/people/lookup',
      action: 'person.lookup',
      summary: 'Does a person who walks in here already have a journey?',
      body: identifiersInput,
      success: [200, 'Whether a journey exists, and what to do next'],
    },
    {
      method: 'post',
      path: '/people/{personRef}/arrival',
      action: 'person.arrive',
      summary: 'Welcome here a person with a journey elsewhere',
      body: identifiersInput,
      success: [201, 'Welcomed'],
    },
    {
      method: 'put',
      path: '/people/{personRef}/what-matters',
      action: 'journey.record',
      summary: 'Revise what matters to the person, in their words',
      body: whatMattersInput,
      success: [200, 'Revised'],
    },
    ...JOURNEY_RECORD_PATHS.map(
      (record): RouteDoc => ({
        method: 'post',
        path: `/people/{personRef}/journey/${record}`,
        action: 'journey.record',
        summary: `Record ${record} on the person’s journey`,
        body: JOURNEY_RECORDS[record].input(runtime),
        success: [201, 'The record’s id'],
      }),
    ),
    {
      method: 'post',
      path: '/people/{personRef}/erasure',
      action: 'person.erase',
      summary: 'Erase a person at their request',
      body: erasureInput,
      success: [201, 'Erased'],
    },
    {
      method: 'get',
      path: '/people/{personRef}',
      action: 'person.read-record',
      summary: 'This partner’s own record of the person',
      success: [200, 'The events, opened'],
    },
    {
      method: 'post',
      path: '/people/{personRef}/consents',
      action: 'consent.record',
      summary: 'Record the person’s consent',
      body: giveConsentInput(runtime),
      success: [201, 'The consent’s id'],
    },
    {
      method: 'post',
      path: '/people/{personRef}/consents/{consentId}/withdrawal',
      action: 'consent.record',
      summary: 'Withdraw a consent',
      success: [201, 'Withdrawn'],
    },
    {
      method: 'post',
      path: '/referrals',
      action: 'referral.request',
      summary: 'Refer a person to a partner or statutory service',
      body: requestReferralInput(runtime),
      success: [201, 'The referral’s id'],
    },
    {
      method: 'post',
      path: '/referrals/{referralId}/status',
      action: 'referral.answer',
      summary: 'Move a referral through the FHIR workflow',
      body: statusChangeInput,
      success: [200, 'The new status'],
    },
    {
      method: 'post',
      path: '/referrals/{referralId}/acceptance',
      action: 'referral.answer',
      summary: 'Accept a referral',
      success: [201, 'Accepted'],
    },
    {
      method: 'post',
      path: '/learning-cycles',
      action: 'learning.record',
      summary: 'Convene a learning cycle at a scale (a place cycle by a steward)',
      body: conveneInput,
      success: [201, 'The cycle’s id'],
    },
    ...Object.entries(CYCLE_STAGES).map(
      ([stage, s]): RouteDoc => ({
        method: 'post',
        path: `/learning-cycles/{cycleId}/${stage}`,
        action: 'learning.record',
        summary: `Record the cycle’s ${stage}`,
        body: s.input,
        success: [201, 'Recorded'],
      }),
    ),
    {
      method: 'post',
      path: '/teams/{team}/reflective-sessions',
      action: 'learning.record',
      summary: 'Record a team reflective practice session',
      body: reflectiveSessionInput,
      success: [201, 'The session’s id'],
    },
    {
      method: 'post',
      path: '/issues',
      action: 'learning.record',
      summary: 'Raise an issue in the issue log',
      body: raiseIssueInput,
      success: [201, 'The issue’s id'],
    },
    ...Object.entries(ISSUE_CHANGES).map(
      ([change, s]): RouteDoc => ({
        method: 'post',
        path: `/issues/{issueId}/${change}`,
        action: 'learning.record',
        summary: `Record the issue’s ${change}`,
        body: s.input,
        success: [201, 'Recorded'],
      }),
    ),
    {
      method: 'get',
      path: '/log/verification',
      action: 'log.verify',
      summary: 'What a range of this partner’s log digests to, and any event altered since (query: from, to)',
      success: [200, 'The range’s digest and altered positions'],
    },
  ];
}

@Controller('openapi.json')
export class PartnerApiDescriptionController {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  @Public()
  @Get()
  describe() {
    return openApiDocument(
      `${this.runtime.consortium.name}: ${this.runtime.partnerId} partner service`,
      '1',
      partnerRoutes(this.runtime),
    );
  }
}
