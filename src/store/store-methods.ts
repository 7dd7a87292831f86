/**
 * System-channel methods of SHARED_STORE. Not prefixed `bw.`: the master intercepts those as its
 * own control messages.
 */
export const StoreMethods = {
  /** worker → master: start feeding my read replica ({ worker, pid }). */
  subscribe: 'store.subscribe',
  /** worker → master: stamp and apply a write ({ worker, pid, req, request }). */
  write: 'store.write',
  /** master → worker: snapshot, changes in order, write answers (WorkerFeed). */
  feed: 'store.feed',
  /** master ↔ master of another server: replication ({ from, message }). */
  replicate: 'store.replicate',
} as const;
