import { compareStamps, type Stamp } from '../../core/hlc.js';
import { IdHistory } from './id-history.js';
import { compareOperations, type Operation } from './operation.js';
import type { Entry } from '../documents/store-tables.js';

/** One store's part of the log: each id's history and the store's clears, each in total order. */
export interface StoreLog {
  ids: Map<string, IdHistory>;
  clears: Operation[];
  /** The greatest operation ever logged for this store (a clear after it is in order). */
  last?: Operation;
}

/**
 * The operations above the stable frontier, indexed the two ways a replica needs them: per id
 * (an operation that arrives late replays only its own id's history from where it lands, so the
 * cost does not grow with the traffic on other ids), and per origin (each origin's operations
 * arrive in sequence, so folding and anti-entropy walk append-only queues).
 */
export class OperationLog {
  private readonly stores = new Map<string, StoreLog>();
  private readonly origins = new Map<string, Operation[]>();
  /** Histories with an operation folded in late whose later cached entries are not recomputed yet. */
  readonly stale = new Set<IdHistory>();
  private count = 0;
  private lastStable?: Stamp;
  /**
   * Where an operation keeps the entry of its id right after it applied, while it is logged: a
   * property under this log's own symbol. Not a Map or WeakMap keyed by operation: a map of the
   * whole log costs a hash insert and delete per operation, and weak maps make every garbage
   * collection pay for the whole log. Each log (and each clear) has its own key, so replicas that
   * share operation objects (tests) or a replayed log never read another's value.
   */
  private afterKey = Symbol('boxwire.entryAfter');

  get size(): number {
    return this.count;
  }

  /** The entry of `op`'s id right after `op` applied (undefined: removed, or not computed yet). */
  entryAfter(op: Operation): Entry | undefined {
    return (op as unknown as Record<symbol, Entry | undefined>)[this.afterKey];
  }

  setEntryAfter(op: Operation, entry: Entry | undefined): void {
    (op as unknown as Record<symbol, Entry | undefined>)[this.afterKey] = entry;
  }

  store(store: string): StoreLog | undefined {
    return this.stores.get(store);
  }

  storeNames(): IterableIterator<string> {
    return this.stores.keys();
  }

  /**
   * Logs an operation. Returns its id's history (none for a clear) and whether it is in order: the
   * last of that history and after every clear of its store (a clear: after every operation of
   * its store), so applying it to the current state gives the same result as a replay.
   */
  add(op: Operation): { history?: IdHistory; inOrder: boolean } {
    let log = this.stores.get(op.store);
    if (!log) this.stores.set(op.store, (log = { ids: new Map(), clears: [] }));
    let queue = this.origins.get(op.origin);
    if (!queue) this.origins.set(op.origin, (queue = []));
    queue.push(op);
    this.count++;
    const greatest = !log.last || compareOperations(op, log.last) > 0;
    if (greatest) log.last = op;
    if (op.kind === 'clear') {
      insertSorted(log.clears, op);
      return { inOrder: greatest };
    }
    let history = log.ids.get(op.id!);
    if (!history) log.ids.set(op.id!, (history = new IdHistory(op.store, op.id!)));
    const last = history.insert(op);
    const lastClear = log.clears[log.clears.length - 1];
    return { history, inOrder: last && !(lastClear && compareOperations(lastClear, op) > 0) };
  }

  /** `op` (late, in `history`) was folded in without recomputing the entries cached after it. */
  markStale(history: IdHistory, op: Operation): void {
    if (!history.staleFrom || compareOperations(op, history.staleFrom) < 0) history.staleFrom = op;
    this.stale.add(history);
  }

  /** The entries cached in `history` were recomputed up to (not including) `from`; none stale when undefined. */
  setStaleFrom(history: IdHistory, from: Operation | undefined): void {
    history.staleFrom = from;
    if (from) this.stale.add(history);
    else this.stale.delete(history);
  }

  /**
   * A stamp at or below `stable` at or below which at most `max` operations are logged: `stable`
   * itself when fewer are. Each origin's queue is in stamp order, so cutting at the earliest of the
   * queues' `max / origins`-th operations leaves at most that many per queue.
   */
  foldCut(stable: Stamp, max: number): Stamp {
    const share = Math.max(1, Math.floor(max / Math.max(1, this.origins.size)));
    let cut = stable;
    for (const queue of this.origins.values()) {
      const op = queue[share - 1];
      if (queue.length > share && compareStamps(op, cut) < 0) cut = { wall: op.wall, counter: op.counter };
    }
    return cut;
  }

  /** Every operation of a store, in total order (for a whole-store replay). */
  storeOperations(store: string): Operation[] {
    const log = this.stores.get(store);
    if (!log) return [];
    const ops: Operation[] = [];
    for (const history of log.ids.values()) for (const op of history.toArray()) ops.push(op);
    return ops.concat(log.clears).sort(compareOperations);
  }

  /** Every logged operation, per origin in sequence, origins sorted by name. */
  byOrigin(): Operation[] {
    return this.after({});
  }

  /**
   * The logged operations above `held` (origin → highest sequence someone holds), per origin in
   * sequence, origins sorted by name. Each origin's queue is in sequence order (a replica accepts
   * an origin's operations only contiguously), so each queue is cut by binary search.
   */
  after(held: Record<string, number>): Operation[] {
    const out: Operation[] = [];
    for (const [origin, queue] of [...this.origins].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const seq = held[origin] ?? 0;
      let low = 0;
      let high = queue.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (queue[mid].seq > seq) high = mid;
        else low = mid + 1;
      }
      for (let i = low; i < queue.length; i++) out.push(queue[i]);
    }
    return out;
  }

  /**
   * Removes every operation at or below `stable` and returns them per store, with each id's last
   * removed operation (its entry is the id's new base); tells `onOriginFolded` each origin's last
   * removed sequence number. Each origin's queue is in stamp order, so
   * what leaves is a prefix of every queue and of every id's history.
   */
  takeStable(stable: Stamp, onOriginFolded: (origin: string, seq: number) => void): Map<string, StableOperations> {
    this.lastStable = stable;
    const taken = new Map<string, StableOperations>();
    for (const [origin, queue] of this.origins) {
      let n = 0;
      while (n < queue.length && compareStamps(queue[n], stable) <= 0) n++;
      if (n === 0) continue;
      for (let i = 0; i < n; i++) {
        const op = queue[i];
        let part = taken.get(op.store);
        if (!part) taken.set(op.store, (part = { ops: [], lastPerId: new Map(), cleared: false }));
        part.ops.push(op);
        if (op.kind === 'clear') part.cleared = true;
        else part.lastPerId.set(op.id!, op);
      }
      onOriginFolded(origin, queue[n - 1].seq);
      if (n === queue.length) this.origins.delete(origin);
      else queue.splice(0, n);
      this.count -= n;
    }
    for (const [store, part] of taken) this.dropFromStore(store, part);
    return taken;
  }

  clear(): void {
    this.stores.clear();
    this.origins.clear();
    this.stale.clear();
    this.afterKey = Symbol('boxwire.entryAfter');
    this.count = 0;
  }

  /** Cuts each touched id's history (and the clears) at the frontier; notes each id's last removed operation. */
  private dropFromStore(store: string, part: StableOperations): void {
    const log = this.stores.get(store)!;
    for (const id of part.lastPerId.keys()) {
      const history = log.ids.get(id)!;
      const taken = history.takeUpTo(this.lastStable!);
      part.lastPerId.set(id, taken[taken.length - 1]);
      if (history.size === 0) {
        log.ids.delete(id);
        this.stale.delete(history);
      } else if (!history.staleFrom) {
        this.stale.delete(history);
      }
    }
    if (part.cleared) {
      let n = 0;
      while (n < log.clears.length && compareStamps(log.clears[n], this.lastStable!) <= 0) n++;
      log.clears.splice(0, n);
    }
    if (log.ids.size === 0 && log.clears.length === 0) this.stores.delete(store);
  }
}

/** What folding takes from one store: the operations, each id's last one, whether a clear is among them. */
export interface StableOperations {
  ops: Operation[];
  lastPerId: Map<string, Operation>;
  cleared: boolean;
}

/** Inserts a clear in total order, searching from the end (clears are rare and mostly in order). */
function insertSorted(list: Operation[], op: Operation): void {
  let at = list.length;
  while (at > 0 && compareOperations(list[at - 1], op) > 0) at--;
  if (at === list.length) list.push(op);
  else list.splice(at, 0, op);
}

/** Whether a clear of `log` lies strictly between `low` and `high` (absent = unbounded). */
export function clearBetween(log: StoreLog, low: Operation | undefined, high: Operation | undefined): boolean {
  for (const clear of log.clears) {
    if ((low === undefined || compareOperations(clear, low) > 0) && (high === undefined || compareOperations(clear, high) < 0)) return true;
  }
  return false;
}
