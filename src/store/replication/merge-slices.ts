import { log } from '../../core/logger.js';
import type { FeedItem } from '../workers/feed.js';
import type { Replica } from './replica.js';
import type { ReplicaSnapshot } from './snapshot.js';

/**
 * Work units of a snapshot merge per event-loop turn (see SnapshotMerge: a base entry, an
 * operation collected, logged or applied): a few milliseconds, so a server that merges a large
 * snapshot still answers heartbeats and serves reads and writes meanwhile.
 */
export const MERGE_UNITS_PER_TURN = 4_000;

/**
 * Merges `snapshot` into `replica` one slice per event-loop turn, and calls `done` with what
 * changed once the replica adopted the result. The caller holds back other replication messages
 * until then (Replica.mergeUnderWay); writes made here meanwhile are taken again on top of it.
 */
export function mergeInSlices(replica: Replica, snapshot: ReplicaSnapshot, done: (items: FeedItem[]) => void, unitsPerTurn = MERGE_UNITS_PER_TURN): void {
  const job = replica.beginMerge(snapshot);
  const slice = () => {
    try {
      job.step(unitsPerTurn);
    } catch (error) {
      // Never leave the replica waiting for a merge that cannot finish: it would take nothing more.
      log.error('store.snapshot_merge_failed', { replica: replica.name, error, note: 'kept the state from before; anti-entropy asks again' });
      replica.abortMerge();
      return done([]);
    }
    if (job.done) done(replica.finishMerge());
    else setImmediate(slice);
  };
  setImmediate(slice);
}
