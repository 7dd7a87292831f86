import { CODES, KINDS } from '../replication/operation-wire.js';
import type { Document } from '../documents/update-operators.js';
import type { WriteRequest } from './write-request.js';

/**
 * A worker's write request as it travels to its master: a tuple (cheaper to pack and unpack than
 * a record). Absent fields in the middle are `null`; trailing ones are left off.
 */
export type WriteRequestWire = [kind: number, store: string, id?: string | null, data?: Document | null, removeAfterSeconds?: number | null, maxEntries?: number | null, returnDocument?: 1];

export function writeRequestToWire(request: WriteRequest): WriteRequestWire {
  const { kind, store, id = null, data = null, removeAfterSeconds = null, maxEntries = null } = request;
  if (request.returnDocument) return [CODES[kind], store, id, data, removeAfterSeconds, maxEntries, 1];
  if (maxEntries !== null) return [CODES[kind], store, id, data, removeAfterSeconds, maxEntries];
  if (removeAfterSeconds !== null) return [CODES[kind], store, id, data, removeAfterSeconds];
  if (data !== null) return [CODES[kind], store, id, data];
  if (id !== null) return [CODES[kind], store, id];
  return [CODES[kind], store];
}

export function writeRequestFromWire(wire: WriteRequestWire): WriteRequest {
  const request: WriteRequest = { kind: KINDS[wire[0]], store: wire[1] };
  if (wire[2] != null) request.id = wire[2];
  if (wire[3] != null) request.data = wire[3];
  if (wire[4] != null) request.removeAfterSeconds = wire[4];
  if (wire[5] != null) request.maxEntries = wire[5];
  if (wire[6] === 1) request.returnDocument = true;
  return request;
}
