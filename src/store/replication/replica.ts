import { HybridLogicalClock, ZERO_STAMP, compareStamps, maxStamp, type Stamp } from '../../core/hlc.js';
import { OverflowError } from '../../core/errors.js';
import { log } from '../../core/logger.js';
import type { FeedItem } from '../workers/feed.js';
import { compareOperations, describeOperation, type Operation } from './operation.js';
import { OperationLog, clearBetween, type StoreLog } from './operation-log.js';
import type { IdHistory } from './id-history.js';
import { MAX_FOLDABLE_HISTORY, foldsWithoutReplay, isCounterUpdate } from '../documents/counter-update.js';
import { StoreTables, applyOperation, type ApplyOutcome, type Entry, type Table } from '../documents/store-tables.js';

/** The most operations one `advance` folds into the base (it runs every tick; the rest waits). */
const MAX_FOLD_PER_ADVANCE = 20_000;

export type LocalWrite = Pick<Operation, 'store' | 'kind' | 'id' | 'data' | 'expiresAt'>;

/** Everything a replica holds, as sent to a replica that lost its memory (restart) or fell behind. */
export interface ReplicaSnapshot {
  frontier: Stamp;
  base: Array<[string, Array<[string, Entry]>]>;
  log: Operation[];
  seen: Array<[string, number]>;
  folded: Array<[string, number]>;
  watermarks: Array<[string, Stamp]>;
}

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
 *
 * Stability: each replica reports a watermark (it holds every operation at or below it); the
 * minimum over all members is the stable frontier, below which no operation can still arrive, so
 * the log folds into the base there.
 */
export class Replica {
  readonly name: string;
  readonly state = new StoreTables();
  private readonly base = new StoreTables();
  private readonly log = new OperationLog();
  private frontierStamp: Stamp = ZERO_STAMP;
  /** origin → highest seq received without gaps. */
  private readonly seen = new Map<string, number>();
  /** origin → highest seq folded into the base. */
  private readonly folded = new Map<string, number>();
  /** origin → stamp up to which every operation of that origin is here. */
  private readonly heard = new Map<string, Stamp>();
  /** member → the watermark it last reported. */
  private readonly watermarks = new Map<string, Stamp>();
  private readonly held = new Map<string, Map<number, Operation>>();
  private nextSeq = 1;
  private ownOrigin: string;
  private prunedAt = 0;
  private batch?: Batch;
  /** The only member of its cluster: nothing can arrive late, so operations fold as they apply. */
  private readonly alone: boolean;

  constructor(private readonly options: ReplicaOptions) {
    this.name = options.name;
    this.ownOrigin = options.name;
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

  /**
   * The newest operation on `id` still above the stable frontier (diagnostics and tests: which of
   * two concurrent writes wins is decided by this order, not by when they were made).
   */
  newestUnstable(store: string, id: string): Operation | undefined {
    return this.log.store(store)?.ids.get(id)?.last;
  }

  /** Stamps a write made here. Throws OverflowError when the unstable log is full. */
  stamp(write: LocalWrite): Operation {
    const max = this.options.maxPending?.() ?? Infinity;
    if (this.log.size >= max) {
      const behind = this.options.members().filter((m) => m !== this.name && compareStamps(this.watermarks.get(m) ?? ZERO_STAMP, this.frontierStamp) <= 0);
      throw new OverflowError(`the replication log of '${this.name}' (${this.log.size} operations not yet acknowledged by ${behind.join(', ') || 'every server'})`, `${max} operations; reconnect those servers, or raise maxPendingOperations`);
    }
    const { wall, counter } = this.clock.now();
    const op: Operation = { store: write.store, kind: write.kind, origin: this.ownOrigin, seq: this.nextSeq++, wall, counter };
    if (write.id !== undefined) op.id = write.id;
    if (write.data !== undefined) op.data = write.data;
    if (write.expiresAt !== undefined) op.expiresAt = write.expiresAt;
    return op;
  }

  /**
   * Takes one operation (local or remote) and returns what changed for mirrors, plus the outcome
   * when it was applied in order (always the case for operations stamped here).
   */
  receive(op: Operation, precomputed?: Entry): { items: FeedItem[]; outcome?: ApplyOutcome } {
    const items: FeedItem[] = [];
    const outcome = this.take(op, items, precomputed);
    return { items, outcome };
  }

  /**
   * Takes a batch from another replica. Late operations are only logged; each id they touch is
   * replayed once at the end (from the earliest late one), instead of once per operation.
   */
  receiveBatch(ops: Operation[]): FeedItem[] {
    const batch: Batch = { ids: new Map(), stores: new Set() };
    this.batch = batch;
    const items: FeedItem[] = [];
    try {
      for (const op of ops) this.take(op, items);
    } finally {
      this.batch = undefined;
    }
    for (const store of batch.stores) items.push(...this.replayTable(store));
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
      let held = this.held.get(op.origin);
      if (!held) this.held.set(op.origin, (held = new Map()));
      held.set(op.seq, op);
      return undefined;
    }
    const outcome = this.accept(op, items, precomputed);
    const held = this.held.get(op.origin);
    if (held) {
      for (let next = held.get(op.seq + 1); next; next = held.get(next.seq + 1)) {
        held.delete(next.seq);
        this.accept(next, items);
      }
      if (held.size === 0) this.held.delete(op.origin);
    }
    return outcome;
  }

  /** `precomputed`: the entry the origin already computed for this (in-order, local) update. */
  private accept(op: Operation, items: FeedItem[], precomputed?: Entry): ApplyOutcome | undefined {
    this.seen.set(op.origin, op.seq);
    const heard = this.heard.get(op.origin);
    if (!heard || compareStamps(op, heard) > 0) this.heard.set(op.origin, { wall: op.wall, counter: op.counter });
    this.clock.observe(op);
    if (op.origin === this.ownOrigin && op.seq >= this.nextSeq) this.nextSeq = op.seq + 1;
    if (compareStamps(op, this.frontierStamp) <= 0) {
      // Cannot happen when every member follows the protocol; keep the op rather than lose it.
      log.warn('store.operation_below_frontier', { op: describeOperation(op), note: 'applied to the base; replicas may differ until the next snapshot' });
      this.base.apply(op);
      items.push(...this.replayTable(op.store));
      return undefined;
    }
    if (this.alone && op.origin === this.ownOrigin) return this.applyStable(op, items, precomputed);
    const { history, inOrder } = this.log.add(op);
    const batch = this.batch;
    if (batch) {
      // Inside a batch: defer anything whose id (or store) will be replayed anyway.
      if (batch.stores.has(op.store)) return undefined;
      if (op.kind === 'clear') {
        if (!inOrder) {
          batch.stores.add(op.store);
          return undefined;
        }
      } else {
        // Keyed by the id's history (one object per store and id while it is logged): no string keys.
        const first = batch.ids.get(history!);
        if (first) {
          if (compareOperations(op, first) < 0) batch.ids.set(history!, op);
          return undefined;
        }
        if (!inOrder && !this.foldLate(op, history!, items)) {
          batch.ids.set(history!, op);
          return undefined;
        }
        if (!inOrder) return undefined;
      }
    }
    if (inOrder) {
      const outcome = this.applyToState(op, precomputed);
      if (op.id !== undefined) this.log.setEntryAfter(op, this.state.peek(op.store)?.get(op.id));
      items.push({ t: 'op', op });
      return outcome;
    }
    // Late: ordered before operations already applied. Fold it in where its place cannot matter,
    // else replay what it can affect.
    if (op.kind === 'clear') items.push(...this.replayTable(op.store));
    else if (!this.foldLate(op, history!, items)) items.push(this.replayEntry(history!, op));
    return undefined;
  }

  /**
   * A late counter update on an id whose logged operations are all counter updates (and no clear
   * of the store is logged) gives the same state wherever it lands in the order: apply it to the
   * current state and skip the replay (see counter-update.ts). The entries cached after it become
   * stale; folding recomputes them for the operations it takes (each once).
   */
  private foldLate(op: Operation, history: IdHistory, items: FeedItem[]): boolean {
    const storeLog = this.log.store(op.store)!;
    if (!isCounterUpdate(op) || history.orderDependent !== 0 || storeLog.clears.length !== 0 || history.size > MAX_FOLDABLE_HISTORY) return false;
    const current = this.state.peek(op.store)?.get(op.id!);
    if (!foldsWithoutReplay(op, this.base.peek(op.store)?.get(op.id!), current)) return false;
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
    const entry = this.recompute(this.log.store(store)!, history, start, ops);
    this.log.setStaleFrom(history, undefined);
    const result = clearBetween(this.log.store(store)!, ops[ops.length - 1], undefined) ? undefined : entry;
    this.state.set(store, id, result);
    return { t: 'entry', store, id, entry: result };
  }

  /**
   * Applies `ops` (the history from `start` on, in order) to the entry before `start`, caching the
   * entry after each; returns the entry after the last.
   */
  private recompute(storeLog: StoreLog, history: IdHistory, start: Operation, ops: Operation[]): Entry | undefined {
    const { store, id } = history;
    const previous = history.before(start);
    let entry: Entry | undefined;
    if (!clearBetween(storeLog, previous, start)) entry = previous ? this.log.entryAfter(previous) : this.base.peek(store)?.get(id);
    const scratch: Table = new Map();
    if (entry) scratch.set(id, entry);
    for (let k = 0; k < ops.length; k++) {
      if (k > 0 && clearBetween(storeLog, ops[k - 1], ops[k])) scratch.clear();
      applyOperation(scratch, ops[k]);
      this.log.setEntryAfter(ops[k], scratch.get(id));
    }
    return scratch.get(id);
  }

  /** Before folding at `stable`: recomputes the stale cached entries of the operations that fold. */
  private refreshStale(stable: Stamp): void {
    for (const history of [...this.log.stale]) {
      const start = history.staleFrom;
      if (!start || compareStamps(start, stable) > 0) continue;
      const ops = history.slice(start, stable);
      this.recompute(this.log.store(history.store)!, history, start, ops);
      this.log.setStaleFrom(history, history.firstAfter(stable));
    }
  }

  private replayTable(store: string): FeedItem[] {
    for (const history of this.log.store(store)?.ids.values() ?? []) if (history.staleFrom) this.log.setStaleFrom(history, undefined);
    const table = new Map(this.base.peek(store) ?? []);
    for (const op of this.log.storeOperations(store)) {
      applyOperation(table, op);
      if (op.id !== undefined) this.log.setEntryAfter(op, table.get(op.id));
    }
    this.state.replaceTable(store, table);
    return [{ t: 'table', store, entries: [...table] }];
  }

  // ---- stability ----------------------------------------------------------------------------

  /** An origin says: "my sequence is at `seq` and my clock at `stamp`". */
  noteBeat(origin: string, seq: number, stamp: Stamp): void {
    this.clock.observe(stamp);
    if ((this.seen.get(origin) ?? 0) >= seq) this.heard.set(origin, maxStamp(this.heard.get(origin) ?? ZERO_STAMP, stamp));
  }

  /** A member says: "I hold every operation at or below `stamp`". */
  noteWatermark(member: string, stamp: Stamp): void {
    this.watermarks.set(member, maxStamp(this.watermarks.get(member) ?? ZERO_STAMP, stamp));
  }

  /** This replica's own watermark; consumes a clock tick so its later operations are above it. */
  watermark(): Stamp {
    let low = this.clock.now();
    for (const member of this.options.members()) {
      if (member !== this.name) low = minStamp(low, this.heardFrom(member));
    }
    this.noteWatermark(this.name, low);
    return low;
  }

  /**
   * Up to where every operation of `member` is here. A member's operations normally carry its
   * name as origin; a member that restarted without reaching any peer writes under
   * `name~incarnation` (see useFreshOrigin), and its latest origin counts.
   */
  heardFrom(member: string): Stamp {
    let latest = this.heard.get(member) ?? ZERO_STAMP;
    for (const [origin, stamp] of this.heard) if (memberOf(origin) === member && compareStamps(stamp, latest) > 0) latest = stamp;
    return latest;
  }

  /** The origin this replica stamps its writes with. */
  get origin(): string {
    return this.ownOrigin;
  }

  /**
   * Writes from now on carry a new, never-used origin. For a server that restarted and could reach
   * no peer: it cannot know where its sequence ended before, and reusing numbers would make the
   * others drop its new writes as duplicates.
   */
  useFreshOrigin(incarnation: string): void {
    this.ownOrigin = `${this.name}~${incarnation}`;
    this.nextSeq = (this.seen.get(this.ownOrigin) ?? 0) + 1;
  }

  /** This origin's sequence (for beats). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /**
   * Recomputes the stable frontier and folds the log below it. Entries that expired at or before
   * both the frontier and `readTime` (cluster time, so nothing is dropped that reads would still
   * show) are dropped; returns prune items for mirrors.
   */
  advance(readTime = Infinity): FeedItem[] {
    this.watermark();
    let stable: Stamp | undefined;
    for (const member of this.options.members()) {
      const mark = this.watermarks.get(member) ?? ZERO_STAMP;
      stable = stable ? minStamp(stable, mark) : mark;
    }
    // A large backlog (a partition healing) folds over several ticks, a bounded amount at a time.
    if (stable && compareStamps(stable, this.frontierStamp) > 0) this.fold(this.log.foldCut(stable, MAX_FOLD_PER_ADVANCE));
    const pruneAt = Math.min(this.frontierStamp.wall, readTime);
    if (pruneAt <= this.prunedAt) return [];
    this.prunedAt = pruneAt;
    this.base.prune(pruneAt);
    return this.state.prune(pruneAt).length ? [{ t: 'prune', wall: pruneAt }] : [];
  }

  private fold(stable: Stamp): void {
    this.refreshStale(stable);
    this.frontierStamp = stable;
    const taken = this.log.takeStable(stable, (origin, seq) => {
      if (seq > (this.folded.get(origin) ?? 0)) this.folded.set(origin, seq);
    });
    for (const [store, { ops, lastPerId, cleared }] of taken) {
      // The entry after each operation was computed when it was applied or replayed; reuse it.
      if (cleared) {
        for (const op of ops.sort(compareOperations)) {
          if (op.kind === 'clear') this.base.table(store).clear();
          else this.base.set(store, op.id!, this.log.entryAfter(op));
        }
      } else {
        for (const [id, last] of lastPerId) this.base.set(store, id, this.log.entryAfter(last));
      }
    }
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
      watermarks: [...this.watermarks],
    };
  }

  /**
   * Merges a peer's snapshot: the higher frontier's base wins (it contains everything below it),
   * logs are united, and every store is replayed. Safe to call with any snapshot, any time.
   */
  merge(snapshot: ReplicaSnapshot): FeedItem[] {
    const stores = new Set([...this.state.tables.keys(), ...snapshot.base.map(([s]) => s), ...snapshot.log.map((op) => op.store)]);
    const ops = new Map<string, Operation>();
    const keep = (op: Operation) => ops.set(`${op.origin}#${op.seq}`, op);
    const ours = this.log.byOrigin();
    if (compareStamps(snapshot.frontier, this.frontierStamp) > 0) {
      for (const op of ours) if (compareStamps(op, snapshot.frontier) > 0) keep(op);
      for (const op of snapshot.log) keep(op);
      this.base.tables.clear();
      for (const [store, entries] of snapshot.base) this.base.replaceTable(store, new Map(entries));
      this.frontierStamp = snapshot.frontier;
    } else {
      for (const op of ours) keep(op);
      for (const op of snapshot.log) if (compareStamps(op, this.frontierStamp) > 0) keep(op);
    }
    this.log.clear();
    for (const op of [...ops.values()].sort(compareOperations)) {
      this.log.add(op);
      this.clock.observe(op);
    }
    const raise = (map: Map<string, number>, entries: Array<[string, number]>) => {
      for (const [key, value] of entries) if (value > (map.get(key) ?? 0)) map.set(key, value);
    };
    raise(this.seen, snapshot.seen);
    raise(this.folded, snapshot.folded);
    for (const [member, stamp] of snapshot.watermarks) this.noteWatermark(member, stamp);
    for (const op of ops.values()) this.heard.set(op.origin, maxStamp(this.heard.get(op.origin) ?? ZERO_STAMP, op));
    this.nextSeq = Math.max(this.nextSeq, (this.seen.get(this.ownOrigin) ?? 0) + 1);
    const items = [...stores].flatMap((store) => this.replayTable(store));
    // Operations that waited for a gap the snapshot filled.
    for (const [origin, held] of [...this.held]) {
      for (const op of [...held.values()].sort((a, b) => a.seq - b.seq)) {
        if (op.seq <= (this.seen.get(origin) ?? 0)) held.delete(op.seq);
      }
      const next = held.get((this.seen.get(origin) ?? 0) + 1);
      if (held.size === 0) this.held.delete(origin);
      if (next) {
        held.delete(next.seq);
        this.take(next, items);
      }
    }
    return items;
  }
}

/** Ids (their history → its earliest late operation) and stores to replay at the end of a batch. */
interface Batch {
  ids: Map<IdHistory, Operation>;
  stores: Set<string>;
}

/** The member (server) an origin belongs to: `B` for `B` and for `B~incarnation`. */
export function memberOf(origin: string): string {
  const at = origin.indexOf('~');
  return at < 0 ? origin : origin.slice(0, at);
}

function minStamp(a: Stamp, b: Stamp): Stamp {
  return compareStamps(a, b) <= 0 ? a : b;
}
