import { DomainError, REFUSAL_STATUS } from '@app/domain';
import { Problem, ProblemMapper } from '@app/platform';
import { WrongExpectedVersionError } from './event-store.port';

/** A refused command, or a record changed by someone else at the same moment, as a problem. */
export const commandProblems: ProblemMapper = (e) => {
  if (e instanceof DomainError) {
    const [status, title] = REFUSAL_STATUS[e.kind];
    return new Problem(
      status,
      title,
      e.message,
      e.field ? [{ field: e.field, reason: e.message }] : undefined,
    );
  }
  if (e instanceof WrongExpectedVersionError) {
    return new Problem(
      409,
      'Conflict',
      'Someone else changed this record at the same moment; reload it and try again',
    );
  }
  return null;
};
