/**
 * System-channel methods of SHARED_STORE. Not prefixed `bw.`: the master intercepts those as its
 * own control messages.
 */
export const StoreMethods = {
  /** worker → master: send me this store's snapshot, then its changes ({ worker, pid, store }). */
  subscribe: 'store.subscribe',
  /** worker → master: stamp and apply writes numbered first, first + 1, … ({ worker, pid, first, list }). */
  writes: 'store.writes',
  /** master → worker: a store's snapshot, or changes to the stores it reads and write answers (WorkerFeed). */
  feed: 'store.feed',
  /** master ↔ master of another server: replication ({ from, message }). */
  replicate: 'store.replicate',
} as const;
