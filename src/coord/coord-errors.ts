/** Typed errors of LOCK, QUEUE and UNIQUE_ID. */
import { BoxwireError } from '../core/errors.js';

/** LOCK could not get the lock within `waitMs`; `fn` did not run. */
export class LockBusyError extends BoxwireError {
  constructor(readonly lockName: string, readonly waitMs: number) {
    super('BOXWIRE_LOCK_BUSY', `LOCK('${lockName}'): another process held the lock for the whole ${waitMs} ms wait; fn did not run (retry later, or raise waitMs)`);
  }
}

/** Passed as `lease.signal.reason` when the lease could not be renewed: another process may hold the lock now. */
export class LockLostError extends BoxwireError {
  constructor(readonly lockName: string, detail: string) {
    super('BOXWIRE_LOCK_LOST', `LOCK('${lockName}'): ${detail}; another process may hold the lock now — stop writing, or let the fence protect the resource`);
  }
}

/** UNIQUE_ID cannot hand out an id now without risking a duplicate. */
export class UniqueIdUnavailableError extends BoxwireError {
  constructor(detail: string) {
    super('BOXWIRE_UNIQUE_ID_UNAVAILABLE', `UNIQUE_ID: ${detail}`);
  }
}
