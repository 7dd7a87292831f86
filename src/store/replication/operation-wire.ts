import { decode, encode } from '../../core/codec.js';
import { isWellFormedOperation, type Operation, type OperationKind } from './operation.js';

/**
 * An operation as it travels to a worker's read replica or another server's replica: a tuple, which msgpack packs and unpacks
 * faster than a record and in fewer bytes. Absent fields in the middle are `null`; trailing ones
 * are left off.
 */
export type OperationWire = [store: string, kind: number, origin: string, seq: number, wall: number, counter: number, id?: string | null, data?: Operation['data'] | null, expiresAt?: number];

/** Operation kinds as small numbers on the wire (shared with write requests). */
export const KINDS: OperationKind[] = ['save', 'update', 'remove', 'clear', 'create'];
export const CODES: Record<OperationKind, number> = { save: 0, update: 1, remove: 2, clear: 3, create: 4 };

export function operationToWire(op: Operation): OperationWire {
  const wire: OperationWire = [op.store, CODES[op.kind], op.origin, op.seq, op.wall, op.counter];
  if (op.expiresAt !== undefined) wire.push(op.id ?? null, op.data ?? null, op.expiresAt);
  else if (op.data !== undefined) wire.push(op.id ?? null, op.data);
  else if (op.id !== undefined) wire.push(op.id);
  return wire;
}

export function operationFromWire(wire: OperationWire): Operation {
  const op: Operation = { store: wire[0], kind: KINDS[wire[1]], origin: wire[2], seq: wire[3], wall: wire[4], counter: wire[5] };
  if (wire[6] != null) op.id = wire[6];
  if (wire[7] != null) op.data = wire[7];
  if (wire[8] != null) op.expiresAt = wire[8];
  return op;
}

/**
 * Operations packed once for every peer they go to (a batch is encoded once, not once per link).
 */
export function packOperations(ops: Operation[]): Uint8Array {
  return encode(ops.map(operationToWire));
}

/** Unpacks operations from another server; anything malformed is dropped and counted, never applied. */
export function unpackOperations(packed: unknown): { ops: Operation[]; dropped: number } {
  let wires: unknown;
  try {
    wires = packed instanceof Uint8Array ? decode(packed) : undefined;
  } catch {
    wires = undefined;
  }
  if (!Array.isArray(wires)) return { ops: [], dropped: 1 };
  const ops: Operation[] = [];
  for (const wire of wires) {
    const op = Array.isArray(wire) ? operationFromWire(wire as OperationWire) : undefined;
    if (op && isWellFormedOperation(op)) ops.push(op);
  }
  return { ops, dropped: wires.length - ops.length };
}
