import { CODES, KINDS } from './operation-wire.js';
import type { Document } from './update-operators.js';
import type { WriteRequest } from './write-request.js';

/**
 * A worker's write request as it travels to its master: a tuple (cheaper to pack and unpack than
 * a record). Absent fields in the middle are `null`; trailing ones are left off.
 */
export type WriteRequestWire = [kind: number, store: string, id?: string | null, data?: Document | null, removeAfterSeconds?: number | null, maxEntries?: number];

export function writeRequestToWire(request: WriteRequest): WriteRequestWire {
  const wire: WriteRequestWire = [CODES[request.kind], request.store];
  if (request.maxEntries !== undefined) wire.push(request.id ?? null, request.data ?? null, request.removeAfterSeconds ?? null, request.maxEntries);
  else if (request.removeAfterSeconds !== undefined) wire.push(request.id ?? null, request.data ?? null, request.removeAfterSeconds);
  else if (request.data !== undefined) wire.push(request.id ?? null, request.data);
  else if (request.id !== undefined) wire.push(request.id);
  return wire;
}

export function writeRequestFromWire(wire: WriteRequestWire): WriteRequest {
  const request: WriteRequest = { kind: KINDS[wire[0]], store: wire[1] };
  if (wire[2] != null) request.id = wire[2];
  if (wire[3] != null) request.data = wire[3];
  if (wire[4] != null) request.removeAfterSeconds = wire[4];
  if (wire[5] != null) request.maxEntries = wire[5];
  return request;
}
