import { BoxwireError } from '../core/errors.js';

/** An update that cannot apply to the stored document (e.g. `$push` on a number). Nothing changed. */
export class StoreOperationError extends BoxwireError {
  constructor(message: string) {
    super('BOXWIRE_STORE_OPERATION', message);
  }
}

/** A filter that could run code (`$where`, function values) or is malformed. It was not run. */
export class StoreFilterError extends BoxwireError {
  constructor(message: string) {
    super('BOXWIRE_STORE_FILTER', message);
  }
}

/** A document or store past its configured size; nothing was written. */
export class StoreLimitError extends BoxwireError {
  constructor(message: string) {
    super('BOXWIRE_STORE_LIMIT', message);
  }
}

/** A synchronous read (`peek`) in a worker whose replica has not received its snapshot yet. */
export class StoreNotReadyError extends BoxwireError {
  constructor(message: string) {
    super('BOXWIRE_STORE_NOT_READY', message);
  }
}

/**
 * The store's engine cannot reach its backend (the Redis engine while Redis is unreachable, or a
 * write whose answer was lost with the connection). Reads still answer from this process's copy.
 * A write that failed with this error may or may not have been applied when `outcomeUnknown` is
 * true; otherwise nothing was sent.
 */
export class StoreUnavailableError extends BoxwireError {
  constructor(message: string, readonly outcomeUnknown = false, options?: { cause?: unknown }) {
    super('BOXWIRE_STORE_UNAVAILABLE', message, options);
  }
}
