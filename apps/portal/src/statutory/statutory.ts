import { Type } from '@nestjs/common';
import { StatutoryController } from './statutory.controller';

/** A statutory body's pages, all under /statutory. */
export const STATUTORY_CONTROLLERS: Type[] = [StatutoryController];
