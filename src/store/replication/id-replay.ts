import type { FeedItem } from '../workers/feed.js';
import { applyOperation, type Entry, type StoreTables, type Table } from '../documents/store-tables.js';
import type { IdHistory } from './id-history.js';
import { clearBetween, type OperationLog } from './operation-log.js';
import type { Operation } from './operation.js';

/**
 * Replays: recomputing what the logged operations give when one of them arrived late (or a
 * snapshot brought a new log). Each operation keeps the entry of its id right after it (see
 * OperationLog.entryAfter), so a replay of one id starts from the operation before the late one.
 */

/**
 * Applies `ops` (the history of one id from `start` on, in order) to the entry before `start` —
 * the entry cached after the previous operation, or the base's, or none past a clear of the store
 * — caching the entry after each; returns the entry after the last.
 */
export function recompute(log: OperationLog, base: StoreTables, history: IdHistory, start: Operation, ops: Operation[]): Entry | undefined {
  const { store, id } = history;
  const storeLog = log.store(store)!;
  const previous = history.before(start);
  let entry: Entry | undefined;
  if (!clearBetween(storeLog, previous, start)) entry = previous ? log.entryAfter(previous) : base.peek(store)?.get(id);
  const scratch: Table = new Map();
  if (entry) scratch.set(id, entry);
  for (let k = 0; k < ops.length; k++) {
    if (k > 0 && clearBetween(storeLog, ops[k - 1], ops[k])) scratch.clear();
    applyOperation(scratch, ops[k]);
    log.setEntryAfter(ops[k], scratch.get(id));
  }
  return scratch.get(id);
}

/** Recomputes a whole store (a clear arrived late): the base's table, then every logged operation of the store in order. */
export function replayStore(log: OperationLog, base: StoreTables, state: StoreTables, store: string): FeedItem {
  for (const history of log.store(store)?.ids.values() ?? []) if (history.staleFrom) log.setStaleFrom(history, undefined);
  const table = new Map(base.peek(store) ?? []);
  for (const op of log.storeOperations(store)) {
    applyOperation(table, op);
    if (op.id !== undefined) log.setEntryAfter(op, table.get(op.id));
  }
  state.replaceTable(store, table);
  return { t: 'table', store, entries: [...table] };
}
