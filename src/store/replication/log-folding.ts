import { compareStamps, type Stamp } from '../../core/hlc.js';
import type { StoreTables } from '../documents/store-tables.js';
import { recompute } from './id-replay.js';
import type { OperationLog } from './operation-log.js';
import { compareOperations } from './operation.js';

/**
 * Folds the operations at or below `stable` into the base: they leave the log, and each id they
 * touched takes, as its base entry, the entry cached after its last folded operation. `folded`
 * (origin → highest folded sequence) is raised for each origin that folded.
 */
export function foldStable(log: OperationLog, base: StoreTables, folded: Map<string, number>, stable: Stamp): void {
  refreshStale(log, base, stable);
  const taken = log.takeStable(stable, (origin, seq) => {
    if (seq > (folded.get(origin) ?? 0)) folded.set(origin, seq);
  });
  for (const [store, { ops, lastPerId, cleared }] of taken) {
    // The entry after each operation was computed when it was applied or replayed; reuse it.
    if (cleared) {
      for (const op of ops.sort(compareOperations)) {
        if (op.kind === 'clear') base.table(store).clear();
        else base.set(store, op.id!, log.entryAfter(op));
      }
    } else {
      for (const [id, last] of lastPerId) base.set(store, id, log.entryAfter(last));
    }
  }
}

/** Before folding at `stable`: recomputes the stale cached entries (see IdHistory.staleFrom) of the operations that fold. */
function refreshStale(log: OperationLog, base: StoreTables, stable: Stamp): void {
  for (const history of [...log.stale]) {
    const start = history.staleFrom;
    if (!start || compareStamps(start, stable) > 0) continue;
    const ops = history.slice(start, stable);
    recompute(log, base, history, start, ops);
    log.setStaleFrom(history, history.firstAfter(stable));
  }
}
