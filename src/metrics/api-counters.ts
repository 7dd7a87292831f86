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

/** transport → box → method → counter; entries only for real methods and the `(unknown)` buckets. */
const counters: Record<ApiTransport, Map<string, Map<string, ApiCounter>>> = { http: new Map(), ws: new Map() };

/**
 * The counter of one call. The hot path is two Map lookups and no allocation; a name not seen
 * before is checked against the loaded boxes once, and a name that is not a real method is
 * counted under `(unknown)` without being remembered.
 */
export function apiCounter(transport: ApiTransport, box: unknown, method: unknown): ApiCounter {
  const known = typeof box === 'string' && typeof method === 'string' ? counters[transport].get(box)?.get(method) : undefined;
  if (known) return known;
  const loaded = typeof box === 'string' ? getBox(box) : undefined;
  const boxLabel = loaded ? loaded.name : UNKNOWN;
  const methodLabel = loaded && typeof method === 'string' && loaded.hasMethod(method) ? method : UNKNOWN;
  let methods = counters[transport].get(boxLabel);
  if (!methods) counters[transport].set(boxLabel, (methods = new Map()));
  let counter = methods.get(methodLabel);
  if (!counter) methods.set(methodLabel, (counter = { transport, box: boxLabel, method: methodLabel, calls: 0, errors: 0, rateLimited: 0 }));
  return counter;
}

export function* apiCounters(): Generator<ApiCounter> {
  for (const byBox of Object.values(counters)) for (const methods of byBox.values()) yield* methods.values();
}
