import { Type } from '@nestjs/common';
import { JourneyController } from './journey.controller';
import { PeopleController } from './people.controller';
import { ReferralsController } from './referrals.controller';

/** The worker's pages, all under /worker. */
export const WORKER_CONTROLLERS: Type[] = [PeopleController, JourneyController, ReferralsController];
