import { Type } from '@nestjs/common';
import { EvidenceController } from './evidence.controller';
import { IssuesController } from './issues.controller';
import { LearningController } from './learning.controller';
import { PlaceController } from './place.controller';

/** The steward's pages, all under /steward. */
export const STEWARD_CONTROLLERS: Type[] = [
  PlaceController,
  LearningController,
  IssuesController,
  EvidenceController,
];
