/**
 * System-channel methods of SHARED_STORE, named by the one rule every layer's table follows,
 * `bw.<layer>.<name>` (see cpu/control.ts); the name decides nothing about routing.
 */
export const StoreMethods = {
  /** worker → master: send me this store's snapshot, then its changes ({ worker, pid, store }). */
  subscribe: 'bw.store.subscribe',
  /** worker → master: stamp and apply writes numbered first, first + 1, … ({ worker, pid, first, list }). */
  writes: 'bw.store.writes',
  /** master → worker: a store's snapshot, or changes to the stores it reads and write answers (WorkerFeed). */
  feed: 'bw.store.feed',
  /** master ↔ master of another server: replication ({ from, message }). */
  replicate: 'bw.store.replicate',
} as const;
