import { log } from '../core/logger.js';
import { copyValue } from './documents/document-values.js';
import type { FeedItem } from './workers/feed.js';
import { createVerdictOf, type StoreTables } from './documents/store-tables.js';
import type { Document } from './documents/update-operators.js';

/**
 * What `onChange` listeners hear, in the order this process applied it. `replay` means a late
 * operation (from another server) changed the entry's history; `reset` that the whole store was
 * rebuilt (a late `clear`, or a snapshot). Expiry emits nothing: entries stop being visible when
 * their time passes.
 */
export interface StoreChange {
  type: 'save' | 'update' | 'remove' | 'clear' | 'create' | 'replay' | 'reset';
  id?: string;
  /** A copy of the document after the change (absent when removed). */
  document?: Document;
}

export type ChangeListener = (change: StoreChange) => void;

export class ChangeNotifier {
  private readonly listeners = new Map<string, Set<ChangeListener>>();

  on(store: string, listener: ChangeListener): () => void {
    let set = this.listeners.get(store);
    if (!set) this.listeners.set(store, (set = new Set()));
    set.add(listener);
    return () => void set!.delete(listener);
  }

  /** Whether anyone listens to `store` (lets callers skip building a change item). */
  wants(store: string): boolean {
    return this.listeners.size !== 0 && (this.listeners.get(store)?.size ?? 0) !== 0;
  }

  /** Call after `item` was applied to `tables`. */
  notify(item: FeedItem, tables: StoreTables): void {
    if (this.listeners.size === 0 || item.t === 'prune') return;
    const store = item.t === 'op' ? item.op.store : item.store;
    const set = this.listeners.get(store);
    if (!set?.size) return;
    let change: StoreChange;
    if (item.t === 'op') {
      if (item.op.kind === 'create' && createVerdictOf(item.op) === 'exists') return; // changed nothing
      const entry = item.op.id !== undefined ? tables.peek(store)?.get(item.op.id) : undefined;
      change = { type: item.op.kind, id: item.op.id, document: entry ? copyValue(entry.doc) : undefined };
    } else if (item.t === 'entry') {
      change = { type: 'replay', id: item.id, document: item.entry ? copyValue(item.entry.doc) : undefined };
    } else {
      change = { type: 'reset' };
    }
    this.deliver(store, set, change);
  }

  /** Tells `store`'s listeners about a change an engine built itself (check `wants` first to skip building it). */
  emit(store: string, change: StoreChange): void {
    const set = this.listeners.get(store);
    if (set?.size) this.deliver(store, set, change);
  }

  private deliver(store: string, set: Set<ChangeListener>, change: StoreChange): void {
    for (const listener of set) {
      try {
        listener(change);
      } catch (error) {
        log.warn('store.listener_failed', { store, error });
      }
    }
  }
}
