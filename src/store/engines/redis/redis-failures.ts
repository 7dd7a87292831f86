/**
 * What a failed Redis call means for a write: refused before it ran (safe to send again), or
 * lost with its answer (it may have run: never sent again, the caller is told the outcome is
 * unknown). Either way the caller gets a StoreUnavailableError that says what to do.
 */
import { StoreUnavailableError } from '../../store-errors.js';
import type { WriteRequest } from '../../workers/write-request.js';
import type { StoreConnections } from './store-connections.js';

/** Answers Redis gives without running the command. */
const NOT_RUN = /^(READONLY|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOSCRIPT)\b|Stream isn't writeable|isn't ready and enableOfflineQueue/;

export function isDefinitelyNotRun(error: Error): boolean {
  return NOT_RUN.test(error.message);
}

export function isReadOnly(error: Error): boolean {
  return /^READONLY\b/.test(error.message);
}

export function describeFailure(error: Error): string {
  return error.message.split('\n')[0];
}

export function unavailable(connections: StoreConnections, request: WriteRequest, outcomeUnknown: boolean, detail?: string, cause?: Error): StoreUnavailableError {
  const call = `SHARED_STORE('${request.store}').${request.kind}(${request.id !== undefined ? JSON.stringify(request.id) : ''})`;
  const what = outcomeUnknown
    ? 'the connection failed before Redis answered, so the write may or may not have been applied (read the document before retrying)'
    : 'nothing was written';
  return new StoreUnavailableError(
    `${call}: Redis (${connections.describe()}) is unreachable${detail ? ` (${detail})` : ''}; ${what}. Reads still answer from this process's copy; retry once Redis is back`,
    outcomeUnknown,
    cause ? { cause } : undefined,
  );
}
