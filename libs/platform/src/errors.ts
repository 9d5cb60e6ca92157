/** A dependency (database, key store, broker) cannot be reached: the caller may retry; HTTP answers 503. */
export class UnavailableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'UnavailableError';
  }
}

/** Connection faults (server down, restarting, refused) as opposed to faults in what was asked. */
export function isConnectionFault(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (typeof err?.code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'].includes(err.code)) return true;
    // 25P03: the server ended a transaction left idle too long, and its session with it.
    if (err.code.startsWith('08') || ['57P01', '57P03', '25P03'].includes(err.code)) return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|connection error/i.test(
    err?.message ?? '',
  );
}
