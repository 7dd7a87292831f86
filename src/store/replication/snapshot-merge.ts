import { compareStamps, type Stamp } from '../../core/hlc.js';
import type { FeedItem } from '../workers/feed.js';
import { StoreTables, applyOperation, type Entry, type Table } from '../documents/store-tables.js';
import { OperationLog, clearBetween } from './operation-log.js';
import type { Operation } from './operation.js';
import type { ReplicaSnapshot } from './snapshot.js';

/** What the merging replica holds as the merge starts; none of it changes while the merge runs. */
export interface MergeStart {
  frontier: Stamp;
  base: StoreTables;
  /** Its logged operations, per origin in sequence. */
  log: Operation[];
  /** Every store it holds a table for. */
  stores: Iterable<string>;
}

/**
 * Merging a peer's snapshot into a replica, in slices. The higher frontier's base wins (it holds
 * everything below it), the two logs are united, and every store is recomputed from the base.
 * That is work in proportion to the whole data set — seconds for a large one — so it is built
 * aside, a bounded amount per call of `step`, and the replica adopts the result in one short
 * step at the end (Replica.finishMerge). The result does not depend on the slice size.
 *
 * Units of work, each bounded and counted by `step`: a base entry taken from the snapshot, an
 * operation collected from either log, an operation added to the new log, an entry copied from the
 * base, an operation applied in a store's replay, an entry listed for the read replicas.
 */
export class SnapshotMerge {
  readonly frontier: Stamp;
  /** The base after the merge: the replica's own (kept) or a new one built from the snapshot's. */
  readonly base: StoreTables;
  readonly log = new OperationLog();
  /** The current state after the merge (base + the united log). */
  readonly state = new StoreTables();
  /** What changed, for the read replicas: each store as a whole table. */
  readonly items: FeedItem[] = [];
  /** Per origin: the stamp of its last operation in the united log, and its sequence number. */
  readonly lastOfOrigin = new Map<string, Operation>();
  private readonly stores: Set<string>;
  private readonly work: Generator<undefined, void, undefined>;
  private finished = false;
  /** Work units done so far (all slices). */
  unitsDone = 0;

  constructor(readonly snapshot: ReplicaSnapshot, start: MergeStart, private readonly observe: (op: Operation) => void) {
    const theirsAhead = compareStamps(snapshot.frontier, start.frontier) > 0;
    this.frontier = theirsAhead ? snapshot.frontier : start.frontier;
    this.base = theirsAhead ? new StoreTables() : start.base;
    this.stores = new Set(start.stores);
    for (const [store] of snapshot.base) this.stores.add(store);
    this.work = this.run(theirsAhead, start);
  }

  get done(): boolean {
    return this.finished;
  }

  /** Does at most `limit` units of work; returns how many it did (fewer only when the merge is done). */
  step(limit: number): number {
    let units = 0;
    while (units < limit && !this.finished) {
      if (this.work.next().done) this.finished = true;
      else units++;
    }
    this.unitsDone += units;
    return units;
  }

  private *run(theirsAhead: boolean, start: MergeStart): Generator<undefined, void, undefined> {
    if (theirsAhead) {
      for (const [store, entries] of this.snapshot.base) {
        for (const [id, entry] of entries) {
          this.base.set(store, id, entry);
          yield;
        }
      }
    }
    // Both logs, each per origin in sequence: above the new frontier, everything either side holds.
    const runs = new Map<string, Operation[][]>();
    const collect = (op: Operation) => {
      let perOrigin = runs.get(op.origin);
      if (!perOrigin) runs.set(op.origin, (perOrigin = [[]]));
      let run = perOrigin[perOrigin.length - 1];
      if (run.length && run[run.length - 1].seq >= op.seq) perOrigin.push((run = []));
      run.push(op);
      this.stores.add(op.store);
    };
    for (const op of start.log) {
      if (compareStamps(op, this.frontier) > 0) collect(op);
      yield;
    }
    for (const op of this.snapshot.log) {
      if (theirsAhead || compareStamps(op, this.frontier) > 0) collect(op);
      yield;
    }
    for (const [origin, perOrigin] of runs) {
      for (const op of mergeRuns(perOrigin)) {
        this.log.add(op);
        this.observe(op);
        this.lastOfOrigin.set(origin, op);
        yield;
      }
    }
    for (const store of this.stores) yield* this.replay(store);
  }

  /** One store from the base: its base entries (gone past a logged clear), then each id's history. */
  private *replay(store: string): Generator<undefined, void, undefined> {
    const storeLog = this.log.store(store);
    const baseTable = this.base.peek(store);
    this.state.table(store);
    if (baseTable && !storeLog?.clears.length) {
      for (const [id, entry] of baseTable) {
        this.state.set(store, id, entry);
        yield;
      }
    }
    for (const history of storeLog?.ids.values() ?? []) {
      const { id } = history;
      const ops = history.toArray();
      const scratch: Table = new Map();
      const before = clearBetween(storeLog!, undefined, ops[0]) ? undefined : baseTable?.get(id);
      if (before) scratch.set(id, before);
      for (let k = 0; k < ops.length; k++) {
        if (k > 0 && clearBetween(storeLog!, ops[k - 1], ops[k])) scratch.clear();
        applyOperation(scratch, ops[k]);
        this.log.setEntryAfter(ops[k], scratch.get(id));
        yield;
      }
      this.state.set(store, id, clearBetween(storeLog!, ops[ops.length - 1], undefined) ? undefined : scratch.get(id));
    }
    const entries: Array<[string, Entry]> = [];
    for (const pair of this.state.table(store)) {
      entries.push(pair);
      yield;
    }
    this.items.push({ t: 'table', store, entries });
  }
}

/**
 * One origin's operations from runs each in sequence order (normally two: this replica's log and
 * the snapshot's), in sequence order, each sequence number once.
 */
function* mergeRuns(runs: Operation[][]): Generator<Operation> {
  const at = runs.map(() => 0);
  let lastSeq = -Infinity;
  for (;;) {
    let best = -1;
    for (let r = 0; r < runs.length; r++) {
      if (at[r] < runs[r].length && (best < 0 || runs[r][at[r]].seq < runs[best][at[best]].seq)) best = r;
    }
    if (best < 0) return;
    const op = runs[best][at[best]++];
    if (op.seq === lastSeq) continue;
    lastSeq = op.seq;
    yield op;
  }
}
