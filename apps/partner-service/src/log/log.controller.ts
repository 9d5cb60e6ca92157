import { Allow, badRequest, parseInput } from '@app/platform';
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { z } from 'zod';
import { PARTNER_RUNTIME, PartnerRuntime } from '../shared/partner-runtime';

const position = z.coerce
  .number({ message: 'must be a log position' })
  .int()
  .min(1)
  .max(Number.MAX_SAFE_INTEGER);
const range = z.object({ from: position, to: position }).strict();

/**
 * The partner's own word on its log: what a range of positions digests to and which events in it no longer
 * match their hashes. Evidence packs name such ranges; checking a pack asks each partner here. Nothing in the
 * answer is personal: counts and hashes only.
 */
@Controller('log')
export class LogController {
  constructor(@Inject(PARTNER_RUNTIME) private readonly runtime: PartnerRuntime) {}

  @Allow('log.verify')
  @Get('verification')
  verify(@Query() query: unknown) {
    const { from, to } = parseInput(range, query, 'query');
    if (to < from)
      throw badRequest('The range ends before it starts', [
        { field: 'to', reason: 'must not be below from' },
      ]);
    return this.runtime.store.verifyRange(from, to);
  }
}
