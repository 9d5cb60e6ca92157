import { randomUUID } from 'node:crypto';
import { commandProblems } from '@app/event-store';
import { Actor, forbidden, Problem, ProblemMapper } from '@app/platform';
import { PersonErasedError, RetentionEndedError, UnknownPersonError } from '@app/privacy';
import { Request } from 'express';
import { z } from 'zod';
import { PartnerRuntime } from './partner-runtime';

/** How the partner service's own errors read as problems. */
export const partnerProblems: ProblemMapper = (e) => {
  const refused = commandProblems(e);
  if (refused) return refused;
  if (e instanceof PersonErasedError) return new Problem(410, 'Gone', e.message);
  if (e instanceof UnknownPersonError) return new Problem(404, 'Not found', e.message);
  if (e instanceof RetentionEndedError) return new Problem(409, 'Conflict', e.message);
  return null;
};

/** Nobody writes to another partner's records: only this partner's workers may command this service. */
export function assertOwnPartner(runtime: PartnerRuntime, actor: Actor): void {
  if (actor.organisation !== runtime.partnerId) {
    throw forbidden(
      `You are signed in for ${actor.organisation}; only ${runtime.partnerId}'s workers record here`,
    );
  }
}

export function correlationOf(req: Request): string {
  const given = req.headers['x-correlation-id'];
  return typeof given === 'string' && /^[A-Za-z0-9-]{8,64}$/.test(given) ? given : randomUUID();
}

/** A consortium reference: the prefix from the consortium file, a hyphen, ten base-32 characters. */
export const personRefSchema = z
  .string()
  .regex(/^[A-Z]{2,4}-[0-9A-HJKMNP-TV-Z]{10}$/, 'is not a consortium reference');
export const idSchema = z.string().uuid('is not an id of this service');

/**
 * A date and time with its offset, e.g. 2026-11-20T10:30:00Z. The offset must be one a clock can have:
 * "+24:00" has the right shape but is no time at all.
 */
export const isoDateTime = z
  .string()
  .datetime({ offset: true, message: 'must be a date and time, e.g. 2026-11-20T10:30:00Z' })
  // Only for what has the right shape, so a field gets one reason, not two.
  .pipe(
    z
      .string()
      .refine(
        (s) => !Number.isNaN(Date.parse(s)),
        'must be a real date and time (its offset is out of range)',
      ),
  );
