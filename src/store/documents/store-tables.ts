import { log } from '../../core/logger.js';
import { ExpiryQueue } from './expiry-queue.js';
import { describeOperation, type Operation } from '../replication/operation.js';
import { StoreOperationError } from '../store-errors.js';
import { deepFreeze } from './document-values.js';
import { applyUpdate, type Document } from './update-operators.js';

/**
 * A stored document and its absolute expiry (cluster time, ms). Entries are never mutated in
 * place, and documents are deep-frozen as they are stored (see `deepFreeze`).
 */
export interface Entry {
  doc: Document;
  expiresAt?: number;
  /** Set as the entry is stored: its document is deep-frozen and may be handed out without a copy. */
  [SHAREABLE]?: boolean;
  /** Where the entry was written: an upper bound of its document's encoded size (see ReplicaHost.checkUpdatedSize). */
  [SIZE_BOUND]?: number;
}

export const SIZE_BOUND: unique symbol = Symbol('boxwire.sizeBound');

/** A symbol key, so the mark never travels with an entry (the codec skips symbol keys). */
export const SHAREABLE: unique symbol = Symbol('boxwire.shareable');

/** Freezes the entry's document and marks whether that made it shareable. */
function stored(entry: Entry): Entry {
  entry[SHAREABLE] = deepFreeze(entry.doc);
  return entry;
}

export type Table = Map<string, Entry>;

export type ApplyOutcome = 'applied' | 'notExists' | 'failed' | 'exists';

/**
 * Where a `create` operation keeps its verdict as last (re)applied: 'applied' (it inserted) or
 * 'exists' (a live document was already there at its place in the order). A replay recomputes
 * it, so the replica that stamped the create reads the final verdict once nothing can still be
 * ordered before it. A symbol key: it never travels with the operation.
 */
const CREATE_VERDICT: unique symbol = Symbol('boxwire.createVerdict');

export function createVerdictOf(op: Operation): 'applied' | 'exists' | undefined {
  return (op as { [CREATE_VERDICT]?: 'applied' | 'exists' })[CREATE_VERDICT];
}

/** An entry is visible at time `at` unless its expiry has passed. */
export function isLive(entry: Entry | undefined, at: number): entry is Entry {
  return entry !== undefined && (entry.expiresAt === undefined || entry.expiresAt > at);
}

/**
 * Applies one operation to a table. Deterministic: the outcome depends only on the table and the
 * operation (expiry is judged at the operation's own timestamp, never at the local clock), so
 * every replica that applies the same operations in the same order holds the same table.
 */
export function applyOperation(table: Table, op: Operation): ApplyOutcome {
  switch (op.kind) {
    case 'save':
      table.set(op.id!, stored(op.expiresAt === undefined ? { doc: op.data! } : { doc: op.data!, expiresAt: op.expiresAt }));
      return 'applied';
    case 'create': {
      // Expiry judged at the operation's own timestamp, as for update: the same verdict everywhere.
      const verdict = isLive(table.get(op.id!), op.wall) ? 'exists' : 'applied';
      (op as { [CREATE_VERDICT]?: 'applied' | 'exists' })[CREATE_VERDICT] = verdict;
      if (verdict === 'applied') table.set(op.id!, stored(op.expiresAt === undefined ? { doc: op.data! } : { doc: op.data!, expiresAt: op.expiresAt }));
      return verdict;
    }
    case 'remove':
      return table.delete(op.id!) ? 'applied' : 'notExists';
    case 'clear':
      table.clear();
      return 'applied';
    case 'update': {
      const current = table.get(op.id!);
      if (!isLive(current, op.wall)) {
        if (current) table.delete(op.id!);
        return 'notExists';
      }
      let doc: Document;
      try {
        doc = applyUpdate(current.doc, op.data!);
      } catch (error) {
        // Checked at the origin; a concurrent write ordered before it can still make it not fit.
        // Every replica reaches the same verdict, so skipping it keeps them equal.
        if (!(error instanceof StoreOperationError)) throw error;
        log.debug('store.update_skipped', { op: describeOperation(op), reason: error.message });
        return 'failed';
      }
      const expiresAt = op.expiresAt ?? current.expiresAt;
      table.set(op.id!, stored(expiresAt === undefined ? { doc } : { doc, expiresAt }));
      return 'applied';
    }
  }
}

/**
 * Named tables (one per store) with an expiry index. Used for a replica's base and current state
 * and for a worker's read replica.
 */
export class StoreTables {
  readonly tables = new Map<string, Table>();
  private expiries = new ExpiryQueue();

  table(store: string): Table {
    let table = this.tables.get(store);
    if (!table) this.tables.set(store, (table = new Map()));
    return table;
  }

  peek(store: string): Table | undefined {
    return this.tables.get(store);
  }

  apply(op: Operation): ApplyOutcome {
    const table = this.table(op.store);
    const outcome = applyOperation(table, op);
    if (op.id !== undefined) this.track(op.store, op.id, table.get(op.id));
    return outcome;
  }

  set(store: string, id: string, entry: Entry | undefined): void {
    const table = this.table(store);
    if (entry) {
      table.set(id, stored(entry));
    } else {
      table.delete(id);
    }
    this.track(store, id, entry);
  }

  replaceTable(store: string, table: Table): void {
    this.tables.set(store, table);
    for (const [id, entry] of table) {
      stored(entry);
      this.track(store, id, entry);
    }
  }

  /** Takes over `other`'s tables and expiry index (built aside, e.g. by a snapshot merge); `other` is not used again. */
  adopt(other: StoreTables): void {
    this.tables.clear();
    for (const [store, table] of other.tables) this.tables.set(store, table);
    this.expiries = other.expiries;
  }

  /**
   * Drops entries that expired at or before `wall`. Safe once no operation at or below `wall` can
   * still arrive: every later operation judges them expired anyway.
   */
  prune(wall: number): Array<{ store: string; id: string }> {
    const removed: Array<{ store: string; id: string }> = [];
    for (const due of this.expiries.popDue(wall)) {
      const table = this.tables.get(due.store);
      const entry = table?.get(due.id);
      if (entry && entry.expiresAt !== undefined && entry.expiresAt <= wall) {
        table!.delete(due.id);
        removed.push(due);
      }
    }
    return removed;
  }

  /** Deep-enough copy for a snapshot: new maps, shared immutable entries. */
  copy(): StoreTables {
    const copy = new StoreTables();
    for (const [store, table] of this.tables) copy.replaceTable(store, new Map(table));
    return copy;
  }

  private track(store: string, id: string, entry: Entry | undefined): void {
    if (entry?.expiresAt !== undefined) this.expiries.push(entry.expiresAt, store, id);
  }
}
