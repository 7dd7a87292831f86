/**
 * This process's copy of one store under the Redis engine: the documents (in the engine's
 * StoreTables) and, per slot group (see store-keys.ts), each document's version (the feed id of
 * its last write) and where in the group's feed the copy is. A group's entries apply in its feed
 * order; an entry older than what the copy holds for its id is skipped, so a snapshot read while
 * writes went on converges as the feed catches up. Groups are independent: an id lives in one
 * group, so its versions compare within that group's feed only.
 */
import { decode } from '../../../core/codec.js';
import type { ChangeNotifier, StoreChange } from '../../change-events.js';
import { copyValue } from '../../documents/document-values.js';
import type { Entry, StoreTables } from '../../documents/store-tables.js';
import { NO_VERSION, compareStreamIds } from './stream-id.js';
import { feedChanges, type FeedChange } from './feed-changes.js';
import { log } from '../../../core/logger.js';
import type { StoreKeys, StoreLayout } from './store-keys.js';

/** One feed entry as read from Redis (field values are raw bytes). */
export interface FeedEntry {
  id: string;
  fields: Map<string, Buffer>;
}

/** A store's contents as loaded from Redis, and the feed position it corresponds to. */
export interface StoreSnapshot {
  epoch: string | null;
  seq: number;
  position: string;
  entries: Array<[id: string, entry: Entry, version: string]>;
}

const KIND_CHANGE: Record<string, StoreChange['type']> = { s: 'save', u: 'update', n: 'create', r: 'remove', c: 'clear' };

/** One slot group of a held store: its documents' versions and its feed position. */
export class HeldGroup {
  /** The feed id this copy has applied up to. */
  position = NO_VERSION;
  /** The feed sequence number of that entry (entries carry 1, 2, 3 …: a gap means trimmed, a drop means a new data set). */
  seq = 0;
  /** The data set's birth mark in Redis; a different one means Redis lost the data (restarted empty). */
  epoch: string | null = null;
  readonly versions = new Map<string, string>();
  private waiters: Array<{ version: string; resolve: () => void }> = [];

  constructor(
    readonly name: string,
    readonly keys: StoreKeys,
    private readonly tables: StoreTables,
    private readonly changes: ChangeNotifier,
    /** Whether this group is the store's only one (its table can be replaced whole). */
    private readonly only: boolean,
  ) {}

  /** Replaces this group's part of the copy with a snapshot; `reset`: tell listeners the store was rebuilt (a reload, not the first load). */
  load(snapshot: StoreSnapshot, reset: boolean): void {
    if (this.only) {
      const table = new Map<string, Entry>();
      this.versions.clear();
      for (const [id, entry, version] of snapshot.entries) {
        table.set(id, entry);
        this.versions.set(id, version);
      }
      this.tables.replaceTable(this.name, table);
    } else {
      const table = this.tables.table(this.name);
      for (const id of this.versions.keys()) table.delete(id);
      this.versions.clear();
      for (const [id, entry, version] of snapshot.entries) {
        this.tables.set(this.name, id, entry);
        this.versions.set(id, version);
      }
    }
    const newDataSet = this.epoch !== null && snapshot.epoch !== this.epoch;
    this.epoch = snapshot.epoch;
    this.seq = snapshot.seq;
    this.position = snapshot.position;
    if (reset) this.changes.emit(this.name, { type: 'reset' });
    // Writes waiting for a feed position the new data set will never reach are as visible as they will get.
    this.settleWaiters(newDataSet);
  }

  /**
   * Applies one feed entry (a write batch: every change in it has the entry's id as version);
   * false when it does not follow the copy's position (a gap), or cannot be read: reload.
   * (A change listener that throws is the notifier's to report; it does not stop the entry.)
   */
  apply(entry: FeedEntry): boolean {
    const seq = Number(entry.fields.get('n')?.toString());
    if (seq !== this.seq + 1) return false;
    try {
      const changes = feedChanges(entry);
      this.seq = seq;
      this.position = entry.id;
      // Ids this entry changed so far: a later change to one of them in the same entry applies on top.
      const touched = new Set<string>();
      for (const change of changes) {
        if (change.kind === 'c') this.clearBefore(entry.id, touched);
        else this.applyToId(change, entry.id, touched);
      }
    } catch (error) {
      // Bytes in Redis that are not a feed entry or a document (written by something else): the
      // copy cannot follow this entry; reloading reads the documents as they are.
      log.warn('store.feed_malformed', { store: this.name, group: this.keys.group, entry: entry.id, error: (error as Error)?.message ?? String(error) });
      return false;
    }
    this.settleWaiters(false);
    return true;
  }

  private applyToId(change: FeedChange, version: string, touched: Set<string>): void {
    const { id, kind } = change;
    const held = this.versions.get(id);
    // A copy already at this version (a snapshot read after the batch) or newer holds the result.
    if (held !== undefined && !touched.has(id) && compareStreamIds(held, version) >= 0) return;
    touched.add(id);
    let stored: Entry | undefined;
    if (kind === 'r') {
      this.versions.delete(id);
    } else {
      stored = { doc: decode(change.data!) };
      if (change.expiresAt !== undefined) stored.expiresAt = change.expiresAt;
      this.versions.set(id, version);
    }
    this.tables.set(this.name, id, stored);
    if (this.changes.wants(this.name)) {
      const now = this.tables.peek(this.name)?.get(id);
      this.changes.emit(this.name, { type: KIND_CHANGE[kind] ?? 'update', id, document: now ? copyValue(now.doc) : undefined });
    }
  }

  /**
   * A clear at `version`: every entry of this group written before it goes, and what its own
   * batch wrote before it (ones written after it, read by a snapshot, stay).
   */
  private clearBefore(version: string, touched: Set<string>): void {
    const table = this.tables.table(this.name);
    for (const [id, written] of this.versions) {
      if (touched.has(id) || compareStreamIds(written, version) < 0) {
        this.versions.delete(id);
        table.delete(id);
      }
    }
    touched.clear();
    this.changes.emit(this.name, { type: 'clear' });
  }

  /** Resolves once the copy has applied the feed up to `version` (a write's own entry: read-your-writes). */
  reached(version: string): Promise<void> | undefined {
    if (compareStreamIds(this.position, version) >= 0) return undefined;
    return new Promise((resolve) => this.waiters.push({ version, resolve }));
  }

  private settleWaiters(all: boolean): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (all || compareStreamIds(this.position, waiter.version) >= 0) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }

  /** The entry (or its absence) and its version, for a write computed from this copy. */
  base(id: string): { entry?: Entry; version: string } {
    const entry = this.tables.peek(this.name)?.get(id);
    return entry ? { entry, version: this.versions.get(id) ?? NO_VERSION } : { version: '0' };
  }

  /** Drops the version of an entry the tables pruned (expired). */
  forget(id: string): void {
    this.versions.delete(id);
  }
}

/** This process's copy of one store: its slot groups over one table of documents. */
export class HeldStore {
  readonly groups: HeldGroup[];

  constructor(readonly name: string, readonly layout: StoreLayout, tables: StoreTables, changes: ChangeNotifier) {
    const only = layout.groups.length === 1;
    this.groups = layout.groups.map((keys) => new HeldGroup(name, keys, tables, changes, only));
  }

  /** Drops the version of an entry the tables pruned (expired). */
  forget(id: string): void {
    this.groups[this.layout.groupOf(id)].forget(id);
  }
}
