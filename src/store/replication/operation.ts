import type { Stamp } from '../../core/hlc.js';
import type { Document } from '../documents/update-operators.js';

/** `create`: a save that takes effect only when no live document is there at its place in the order. */
export type OperationKind = 'save' | 'update' | 'remove' | 'clear' | 'create';

/**
 * One write, as it travels between replicas. Replicas exchange operations, not states, so
 * concurrent increments from both sides of a partition are all kept.
 */
export interface Operation extends Stamp {
  store: string;
  /** The replica (server) that stamped it. */
  origin: string;
  /** Per-origin sequence number, 1, 2, 3 … without gaps. */
  seq: number;
  kind: OperationKind;
  id?: string;
  data?: Document;
  /**
   * Absolute expiry in cluster time (ms). `save`, `create`: the entry's expiry (absent = none). `update`:
   * a new expiry (absent = keep the existing one).
   */
  expiresAt?: number;
}

/** The protocol's total order: HLC timestamp, then origin name. Every replica applies in this order. */
export function compareOperations(a: Operation, b: Operation): number {
  return a.wall - b.wall || a.counter - b.counter || (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0);
}

export function describeOperation(op: Operation): string {
  return `${op.kind} ${op.store}${op.id !== undefined ? `/${op.id}` : ''} from ${op.origin}#${op.seq}`;
}

const KINDS = new Set(['save', 'update', 'remove', 'clear', 'create']);

/** Shape check for operations that arrive from another server, before a replica trusts them. */
export function isWellFormedOperation(value: unknown): value is Operation {
  const op = value as Operation;
  if (op === null || typeof op !== 'object') return false;
  if (typeof op.store !== 'string' || typeof op.origin !== 'string' || !KINDS.has(op.kind)) return false;
  if (!Number.isSafeInteger(op.seq) || op.seq < 1 || !Number.isFinite(op.wall) || !Number.isSafeInteger(op.counter) || op.counter < 0) return false;
  if (op.kind !== 'clear' && (typeof op.id !== 'string' || op.id.length === 0)) return false;
  if ((op.kind === 'save' || op.kind === 'update' || op.kind === 'create') && (op.data === null || typeof op.data !== 'object' || Array.isArray(op.data))) return false;
  return op.expiresAt === undefined || Number.isFinite(op.expiresAt);
}
