/** Why a command was refused, in words a worker can act on; the API turns `kind` into the HTTP status. */
export type RefusalKind = 'invalid' | 'not-found' | 'conflict' | 'forbidden' | 'gone';

export class DomainError extends Error {
  constructor(
    readonly kind: RefusalKind,
    message: string,
    /** The field of the request at fault, where there is one. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const refuse = (kind: RefusalKind, message: string, field?: string): never => {
  throw new DomainError(kind, message, field);
};

/** The exhaustive-switch guard: the compiler fails here when an event or command type is not handled. */
export function unreachable(x: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(x)}`);
}

/** The HTTP status and title each kind of refusal is answered with, wherever a command is served. */
export const REFUSAL_STATUS: Record<RefusalKind, [number, string]> = {
  invalid: [400, 'Bad request'],
  'not-found': [404, 'Not found'],
  conflict: [409, 'Conflict'],
  forbidden: [403, 'Forbidden'],
  gone: [410, 'Gone'],
};
