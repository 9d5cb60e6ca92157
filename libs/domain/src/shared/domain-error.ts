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
