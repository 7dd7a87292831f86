import type { IdHistory } from './id-history.js';
import { compareOperations, type Operation } from './operation.js';

/**
 * The late operations of one received batch: instead of replaying an id (or a store, for a late
 * clear) once per late operation, each is replayed once when the batch ends, from the earliest late
 * operation on it. Keyed by the id's history (one object per store and id while it is logged), so
 * no string keys are built per operation.
 */
export class ReplayBatch {
  /** id history → its earliest late operation in this batch. */
  readonly ids = new Map<IdHistory, Operation>();
  /** Stores replayed whole at the end (a clear arrived late). */
  readonly stores = new Set<string>();

  /**
   * Whether `op`, just logged (`inOrder` as the log said), waits for the end of the batch: its
   * store or id is replayed then anyway, or it is late and `foldLate` could not fold it in now.
   * A late operation that `foldLate` folded is done too (true); an in-order one is not (false).
   */
  defers(op: Operation, history: IdHistory | undefined, inOrder: boolean, foldLate: () => boolean): boolean {
    if (this.stores.has(op.store)) return true;
    if (op.kind === 'clear') {
      if (inOrder) return false;
      this.stores.add(op.store);
      return true;
    }
    const first = this.ids.get(history!);
    if (first) {
      if (compareOperations(op, first) < 0) this.ids.set(history!, op);
      return true;
    }
    if (inOrder) return false;
    if (!foldLate()) this.ids.set(history!, op);
    return true;
  }
}
