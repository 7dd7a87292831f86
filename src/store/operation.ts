import type { Stamp } from '../core/hlc.js';
import type { Document } from './update-operators.js';

export type OperationKind = 'save' | 'update' | 'remove' | 'clear';

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
   * Absolute expiry in cluster time (ms). `save`: the entry's expiry (absent = none). `update`:
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
