import { HybridLogicalClock, ZERO_STAMP, compareStamps, type Stamp } from '../../core/hlc.js';
import { OverflowError } from '../../core/errors.js';
import { log } from '../../core/logger.js';
import type { FeedItem } from '../workers/feed.js';
import { compareOperations, describeOperation, type Operation } from './operation.js';
import { Stability } from './stability.js';
export { memberOf } from './stability.js';
import { OperationLog, clearBetween } from './operation-log.js';
import type { IdHistory } from './id-history.js';
import { recompute, replayStore } from './id-replay.js';
import { HeldOperations } from './held-operations.js';
import { ReplayBatch } from './replay-batch.js';
import { foldStable } from './log-folding.js';
import { SnapshotMerge } from './snapshot-merge.js';
import type { ReplicaSnapshot } from './snapshot.js';
import { MAX_FOLDABLE_HISTORY, foldsWithoutReplay, isCounterUpdate } from '../documents/counter-update.js';
import { StoreTables, type ApplyOutcome, type Entry } from '../documents/store-tables.js';

/** The most operations one fold step takes into the base (a few ms); a backlog folds over several turns. */
const MAX_FOLD_PER_STEP = 5_000;

export type LocalWrite = Pick<Operation, 'store' | 'kind' | 'id' | 'data' | 'expiresAt'>;

export interface ReplicaOptions {
  /** This replica's name (the server name, or 'local'). */
  name: string;
  /** Every replica of the cluster, this one included (the configured servers). */
  members: () => string[];
  clock: HybridLogicalClock;
  /** Bound of the not-yet-stable operation log. */
  maxPending?: () => number;
}

/**
 * One replica of every store: a base (all operations up to the stable frontier, folded) plus a
 * log of later operations kept in the protocol's total order (HLC, origin). The current state is
 * base + log. An operation that arrives late (ordered before ones already applied) is inserted
 * and its id replayed from the base (`clear`: the whole store), so every replica that received
 * the same operations holds the same state whatever order they arrived in. Duplicates are
 * recognised by (origin, seq); operations that arrive ahead of a gap wait until it is filled.
 * Below the stable frontier (see Stability) no operation can still arrive: the log folds there.
 */
export class Replica {
  readonly name: string;
  readonly state = new StoreTables();
  private readonly base = new StoreTables();
  private log = new OperationLog();
  private frontierStamp: Stamp = ZERO_STAMP;
  /** origin → highest seq received without gaps. */
  private readonly seen = new Map<string, number>();
  /** origin → highest seq folded into the base. */
  private readonly folded = new Map<string, number>();
  private readonly stability: Stability;
  private readonly held = new HeldOperations();
  private nextSeq = 1;
  private ownOrigin: string;
  private prunedAt = 0;
  /** The stable frontier the log is still folding toward (a backlog, see foldStep). */
  private foldTarget?: Stamp;
  private batch?: ReplayBatch;
  /** A snapshot merge under way, and the operations accepted meanwhile (see beginMerge). */
  private merging?: { job: SnapshotMerge; meanwhile: Operation[] };
  /** The only member of its cluster: nothing can arrive late, so operations fold as they apply. */
  private readonly alone: boolean;

  constructor(private readonly options: ReplicaOptions) {
    this.name = options.name;
    this.ownOrigin = options.name;
    this.stability = new Stability(options.name, options.members);
    const members = options.members();
    this.alone = members.length === 1 && members[0] === options.name;
  }

  get clock(): HybridLogicalClock {
    return this.options.clock;
  }

  get frontier(): Stamp {
    return this.frontierStamp;
  }

  get pendingOperations(): number {
    return this.log.size;
  }

  /** The newest operation on `id` above the stable frontier (diagnostics, tests: the order decides which write wins). */
  newestUnstable(store: string, id: string): Operation | undefined {
    return this.log.store(store)?.ids.get(id)?.last;
  }

  /** Stamps a write made here. Throws OverflowError when the unstable log is full. */
  stamp(write: LocalWrite): Operation {
    const max = this.options.maxPending?.() ?? Infinity;
    if (this.log.size >= max) {
      const behind = this.stability.behind(this.frontierStamp);
      throw new OverflowError(`the replication log of '${this.name}' (${this.log.size} operations not yet acknowledged by ${behind.join(', ') || 'every server'})`, `${max} operations; reconnect those servers, or raise maxPendingOperations`);
    }
    const { wall, counter } = this.clock.now();
    const op: Operation = { store: write.store, kind: write.kind, origin: this.ownOrigin, seq: this.nextSeq++, wall, counter };
    if (write.id !== undefined) op.id = write.id;
    if (write.data !== undefined) op.data = write.data;
    if (write.expiresAt !== undefined) op.expiresAt = write.expiresAt;
    return op;
  }

  /** Takes one operation (local or remote): what changed for mirrors, and its outcome when applied in order (always so for one stamped here). */
  receive(op: Operation, precomputed?: Entry): { items: FeedItem[]; outcome?: ApplyOutcome } {
    const items: FeedItem[] = [];
    return { outcome: this.take(op, items, precomputed), items };
  }

  /** Takes a batch from another replica; ids late operations touch are replayed once at the end (see ReplayBatch). */
  receiveBatch(ops: Operation[]): FeedItem[] {
    const batch = new ReplayBatch();
    this.batch = batch;
    const items: FeedItem[] = [];
    try {
      for (const op of ops) this.take(op, items);
    } finally {
      this.batch = undefined;
    }
    for (const store of batch.stores) items.push(replayStore(this.log, this.base, this.state, store));
    for (const [history, first] of batch.ids) {
      if (batch.stores.has(first.store)) continue;
      if (this.log.store(first.store)?.ids.get(first.id!) === history) items.push(this.replayEntry(history, first));
      else log.warn('store.replay_lost_track', { store: first.store, id: first.id });
    }
    return items;
  }

  /** Accepts `op` and the operations that waited for it (gaps); pushes what changed to `items`. */
  private take(op: Operation, items: FeedItem[], precomputed?: Entry): ApplyOutcome | undefined {
    const seen = this.seen.get(op.origin) ?? 0;
    if (op.seq <= seen) return undefined;
    if (op.seq > seen + 1) {
      this.held.hold(op);
      return undefined;
    }
    const outcome = this.accept(op, items, precomputed);
    for (let next = this.held.takeNext(op.origin, op.seq); next; next = this.held.takeNext(next.origin, next.seq)) this.accept(next, items);
    return outcome;
  }

  /** `precomputed`: the entry the origin already computed for this (in-order, local) update. */
  private accept(op: Operation, items: FeedItem[], precomputed?: Entry): ApplyOutcome | undefined {
    this.seen.set(op.origin, op.seq);
    this.stability.heardUpTo(op.origin, op);
    this.clock.observe(op);
    if (op.origin === this.ownOrigin && op.seq >= this.nextSeq) this.nextSeq = op.seq + 1;
    if (compareStamps(op, this.frontierStamp) <= 0) {
      // Cannot happen when every member follows the protocol; keep the op rather than lose it.
      log.warn('store.operation_below_frontier', { op: describeOperation(op), note: 'applied to the base; replicas may differ until the next snapshot' });
      this.base.apply(op);
      items.push(replayStore(this.log, this.base, this.state, op.store));
      return undefined;
    }
    this.merging?.meanwhile.push(op);
    if (this.alone && op.origin === this.ownOrigin) return this.applyStable(op, items, precomputed);
    const { history, inOrder } = this.log.add(op);
    if (this.batch?.defers(op, history, inOrder, () => this.foldLate(op, history!, items))) return undefined;
    if (inOrder) {
      const outcome = this.applyToState(op, precomputed);
      if (op.id !== undefined) this.log.setEntryAfter(op, this.state.peek(op.store)?.get(op.id));
      items.push({ t: 'op', op });
      return outcome;
    }
    // Late: ordered before operations already applied. Fold it in where its place cannot matter,
    // else replay what it can affect.
    if (op.kind === 'clear') items.push(replayStore(this.log, this.base, this.state, op.store));
    else if (!this.foldLate(op, history!, items)) items.push(this.replayEntry(history!, op));
    return undefined;
  }

  /**
   * A late counter update that lands after every order-dependent operation logged on its id (and
   * no clear of the store is logged) gives the same state wherever it lands among the counter
   * updates after that one: apply it to the current state and skip the replay (see
   * counter-update.ts). The anchor is the entry right after the last order-dependent operation (a
   * hot counter's `save`, say), or the base's when there is none. The entries cached after the
   * late operation become stale; folding recomputes them for the operations it takes (each once).
   */
  private foldLate(op: Operation, history: IdHistory, items: FeedItem[]): boolean {
    const storeLog = this.log.store(op.store)!;
    if (!isCounterUpdate(op) || storeLog.clears.length !== 0 || history.size > MAX_FOLDABLE_HISTORY) return false;
    const anchor = history.lastOrderDependent;
    if (anchor && compareOperations(anchor, op) > 0) return false;
    const current = this.state.peek(op.store)?.get(op.id!);
    if (!foldsWithoutReplay(op, anchor ? this.log.entryAfter(anchor) : this.base.peek(op.store)?.get(op.id!), current)) return false;
    if (current) this.state.apply(op);
    this.log.markStale(history, op);
    items.push({ t: 'op', op });
    return true;
  }

  /** Applies an in-order operation to the current state (`precomputed`: the entry its origin already computed). */
  private applyToState(op: Operation, precomputed?: Entry): ApplyOutcome {
    if (!precomputed) return this.state.apply(op);
    this.state.set(op.store, op.id!, precomputed);
    return 'applied';
  }

  /**
   * A replica alone in its cluster stamps every operation itself, in order, so each one is stable
   * the moment it applies: it goes to the state and the base at once and never waits in the log.
   */
  private applyStable(op: Operation, items: FeedItem[], precomputed?: Entry): ApplyOutcome {
    const outcome = this.applyToState(op, precomputed);
    if (op.kind === 'clear') this.base.table(op.store).clear();
    else this.base.set(op.store, op.id!, this.state.peek(op.store)?.get(op.id!));
    this.frontierStamp = { wall: op.wall, counter: op.counter };
    this.folded.set(op.origin, op.seq);
    items.push({ t: 'op', op });
    return outcome;
  }

  /**
   * Recomputes one id from operation `from` of its history on: it starts from the entry after the
   * previous operation on that id (or the base), so a late operation costs only the operations on
   * its own id ordered after it. Clears of the store in between reset the id. Where late operations
   * were folded in before `from`, it starts from the first of them (cached entries after it are stale).
   */
  private replayEntry(history: IdHistory, from: Operation): FeedItem {
    const { store, id } = history;
    const start = history.staleFrom && compareOperations(history.staleFrom, from) < 0 ? history.staleFrom : from;
    const ops = history.slice(start);
    const entry = recompute(this.log, this.base, history, start, ops);
    this.log.setStaleFrom(history, undefined);
    const result = clearBetween(this.log.store(store)!, ops[ops.length - 1], undefined) ? undefined : entry;
    this.state.set(store, id, result);
    return { t: 'entry', store, id, entry: result };
  }

  // ---- stability ----------------------------------------------------------------------------

  /** An origin says: "my sequence is at `seq` and my clock at `stamp`". */
  noteBeat(origin: string, seq: number, stamp: Stamp): void {
    this.clock.observe(stamp);
    if ((this.seen.get(origin) ?? 0) >= seq) this.stability.heardUpTo(origin, stamp);
  }

  /** A member says: "I hold every operation at or below `stamp`". */
  noteWatermark(member: string, stamp: Stamp): void {
    this.stability.noteWatermark(member, stamp);
  }

  /** This replica's own watermark; consumes a clock tick so its later operations are above it. */
  watermark(): Stamp {
    return this.stability.ownWatermark(this.clock.now());
  }

  /** Up to where every operation of `member` is here (see Stability.heardFrom). */
  heardFrom(member: string): Stamp {
    return this.stability.heardFrom(member);
  }

  get origin(): string {
    return this.ownOrigin;
  }

  /** Writes from now on carry a new origin: a restarted server cannot know where its old sequence ended (reuse = duplicates). */
  useFreshOrigin(incarnation: string): void {
    this.ownOrigin = `${this.name}~${incarnation}`;
    this.nextSeq = (this.seen.get(this.ownOrigin) ?? 0) + 1;
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /**
   * Recomputes the stable frontier and folds the log below it. Entries that expired at or before
   * both the frontier and `readTime` (cluster time, so nothing is dropped that reads would still
   * show) are dropped; returns prune items for mirrors.
   */
  advance(readTime = Infinity): FeedItem[] {
    // A merge reads the base and the log as they were when it began: nothing folds meanwhile.
    if (this.merging) return [];
    this.watermark();
    const stable = this.stability.stable();
    if (stable && compareStamps(stable, this.frontierStamp) > 0) {
      this.foldTarget = stable;
      this.foldStep();
    }
    const pruneAt = Math.min(this.frontierStamp.wall, readTime);
    if (pruneAt <= this.prunedAt) return [];
    this.prunedAt = pruneAt;
    this.base.prune(pruneAt);
    return this.state.prune(pruneAt).length ? [{ t: 'prune', wall: pruneAt }] : [];
  }

  /** Whether the log is still folding toward the stable frontier (a backlog: call foldStep in later turns). */
  get foldBehind(): boolean {
    return this.foldTarget !== undefined;
  }

  /** Folds at most MAX_FOLD_PER_STEP more operations toward the stable frontier; whether more remain. */
  foldStep(): boolean {
    const target = this.foldTarget;
    if (!target || this.merging) return false;
    this.frontierStamp = this.log.foldCut(target, MAX_FOLD_PER_STEP);
    foldStable(this.log, this.base, this.folded, this.frontierStamp);
    if (compareStamps(this.frontierStamp, target) < 0) return true;
    this.foldTarget = undefined;
    return false;
  }

  // ---- anti-entropy -------------------------------------------------------------------------

  /** origin → highest contiguous seq held here. */
  digest(): Record<string, number> {
    return Object.fromEntries(this.seen);
  }

  /**
   * What a peer with `digest` lacks: the operations, in per-origin order, or 'snapshot' when some
   * of them are already folded into the base (the peer lost its memory).
   */
  missingFor(digest: Record<string, number>): Operation[] | 'snapshot' {
    for (const [origin, seq] of this.folded) if ((digest[origin] ?? 0) < seq) return 'snapshot';
    return this.log.after(digest);
  }

  snapshot(): ReplicaSnapshot {
    return {
      frontier: this.frontierStamp,
      base: [...this.base.tables].map(([store, table]) => [store, [...table]]),
      log: this.log.byOrigin(),
      seen: [...this.seen],
      folded: [...this.folded],
      watermarks: [...this.stability.watermarks],
    };
  }

  get mergeUnderWay(): boolean {
    return this.merging !== undefined;
  }

  /** Merges a peer's snapshot at once (see SnapshotMerge). In slices: beginMerge, step, finishMerge. */
  merge(snapshot: ReplicaSnapshot): FeedItem[] {
    const job = this.beginMerge(snapshot);
    job.step(Infinity);
    return this.finishMerge();
  }

  /**
   * Starts merging `snapshot` aside (see SnapshotMerge): call `step` on the job until it is done,
   * then finishMerge. Meanwhile the replica keeps its state and takes writes as before, and folds
   * nothing; the operations it accepts are taken again on top of the merged state at the end.
   */
  beginMerge(snapshot: ReplicaSnapshot): SnapshotMerge {
    if (this.merging) throw new Error(`a snapshot merge is already under way in replica '${this.name}'`);
    const start = { frontier: this.frontierStamp, base: this.base, log: this.log.byOrigin(), stores: [...this.state.tables.keys()] };
    const job = new SnapshotMerge(snapshot, start, (op) => this.clock.observe(op));
    this.merging = { job, meanwhile: [] };
    // Writes made here meanwhile are stamped above the snapshot's frontier (base), like every write after it.
    this.clock.observe(snapshot.frontier);
    return job;
  }

  /** Drops a merge under way (it failed): the replica goes on as before it began; anti-entropy asks again. */
  abortMerge(): void {
    this.merging = undefined;
  }

  /** Adopts the finished merge's base, log and state, then takes the operations accepted meanwhile. */
  finishMerge(): FeedItem[] {
    const merging = this.merging;
    if (!merging?.job.done) throw new Error(`no finished snapshot merge in replica '${this.name}'`);
    this.merging = undefined;
    this.foldTarget = undefined;
    const { job, meanwhile } = merging;
    const { snapshot } = job;
    if (job.base !== this.base) this.base.adopt(job.base);
    this.frontierStamp = job.frontier;
    this.log = job.log;
    this.state.adopt(job.state);
    const seenInSnapshot = new Map(snapshot.seen);
    raise(this.seen, snapshot.seen);
    raise(this.folded, snapshot.folded);
    for (const [member, stamp] of snapshot.watermarks) this.noteWatermark(member, stamp);
    for (const [origin, op] of job.lastOfOrigin) this.stability.heardUpTo(origin, op);
    this.nextSeq = Math.max(this.nextSeq, (this.seen.get(this.ownOrigin) ?? 0) + 1);
    const items = job.items;
    for (const op of meanwhile) {
      const merged = Math.max(seenInSnapshot.get(op.origin) ?? 0, job.lastOfOrigin.get(op.origin)?.seq ?? 0);
      if (op.seq > merged) this.accept(op, items);
    }
    // Operations that waited for a gap the snapshot filled.
    for (const next of this.held.dueAfter(this.seen)) this.take(next, items);
    return items;
  }
}

/** Raises each key of `map` to the value given in `entries` where that is higher. */
function raise(map: Map<string, number>, entries: Array<[string, number]>): void {
  for (const [key, value] of entries) if (value > (map.get(key) ?? 0)) map.set(key, value);
}
