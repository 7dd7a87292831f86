/**
 * API calls, errors and rate-limited calls per transport, box and method. The box and method
 * names come from clients, so only names of a loaded box's methods become labels: anything else
 * is counted under `(unknown)` and cannot grow the label set.
 */
import { getBox } from '../boxes/box-registry.js';

export type ApiTransport = 'http' | 'ws';

export interface ApiCounter {
  readonly transport: ApiTransport;
  readonly box: string;
  readonly method: string;
  calls: number;
  errors: number;
  rateLimited: number;
}

export const UNKNOWN = '(unknown)';

const counters = new Map<string, ApiCounter>();

/** The counter of one call; a Map lookup on the hot path, a new entry only for a real method. */
export function apiCounter(transport: ApiTransport, box: unknown, method: unknown): ApiCounter {
  const known = typeof box === 'string' && typeof method === 'string' && getBox(box)?.hasMethod(method) === true;
  const boxLabel = known ? (box as string) : typeof box === 'string' && getBox(box) ? box : UNKNOWN;
  const methodLabel = known ? (method as string) : UNKNOWN;
  const key = `${transport}\u0000${boxLabel}\u0000${methodLabel}`;
  let counter = counters.get(key);
  if (!counter) counters.set(key, (counter = { transport, box: boxLabel, method: methodLabel, calls: 0, errors: 0, rateLimited: 0 }));
  return counter;
}

export function apiCounters(): IterableIterator<ApiCounter> {
  return counters.values();
}
