import type { Entry, StoreTables } from './store-tables.js';

/**
 * A read replica's snapshot: every table's entries, as sent by a master to a (re)started worker.
 * (A replica-to-replica snapshot also carries the log and the per-origin sequences: see
 * `Replica.snapshot()`.)
 */
export type TablesSnapshot = Array<[store: string, entries: Array<[string, Entry]>]>;

export function snapshotTables(tables: StoreTables): TablesSnapshot {
  return [...tables.tables].map(([store, table]) => [store, [...table]]);
}

export function loadTables(tables: StoreTables, snapshot: TablesSnapshot): void {
  tables.tables.clear();
  for (const [store, entries] of snapshot) tables.replaceTable(store, new Map(entries));
}
