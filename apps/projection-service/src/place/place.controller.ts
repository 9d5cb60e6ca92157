import { Allow, badRequest, parseInput } from '@app/platform';
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { z } from 'zod';
import { PROJECTION_RUNTIME, ProjectionRuntime } from '../shared/projection-runtime';
import { Period, placeFigures } from './place-figures';

export const periodSchema = z
  .object({
    from: z.string().date('must be a date as YYYY-MM-DD'),
    to: z.string().date('must be a date as YYYY-MM-DD'),
  })
  .strict();

/** A period as a person gives it: two dates, the second not before the first. */
export function parsePeriod(input: unknown, what: 'query' | 'request body' = 'query'): Period {
  const period = parseInput(periodSchema, input, what);
  if (period.to < period.from)
    throw badRequest('The period ends before it starts', [
      { field: 'to', reason: 'must not be before from' },
    ]);
  return period;
}

/**
 * What the system stewards see across the place for a period: aggregates only, never a person. People and
 * contacts by partner, referral flows (counts, acceptance, time to first contact, the closed loop), the themes
 * people bring and how they co-occur, cost and effort per journey, wellbeing change, learning by scale and
 * stage, and the issue log.
 */
@Controller('place')
export class PlaceController {
  constructor(@Inject(PROJECTION_RUNTIME) private readonly runtime: ProjectionRuntime) {}

  @Allow('place.read')
  @Get()
  place(@Query() query: unknown) {
    const { dataSource, consortium } = this.runtime;
    return placeFigures(dataSource, schemaOf(this.runtime), consortium, parsePeriod(query));
  }
}

export const schemaOf = (runtime: ProjectionRuntime) =>
  (runtime.dataSource.options as { schema: string }).schema;
