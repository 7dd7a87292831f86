import { encode } from '../../core/codec.js';
import type { WireError } from '../../core/errors.js';
import type { FeedItem } from './feed.js';
import type { OperationWire } from '../replication/operation-wire.js';
import type { Entry } from '../documents/store-tables.js';
import type { Document } from '../documents/update-operators.js';

/**
 * The answer to one write when it is not a plain "applied": applied with a document (the removed
 * one for `remove`, the updated one for an update that asked for it, the one there afterwards for
 * `create`), not there, failed, or (`create`) already there.
 */
export type SpecialAnswer =
  | [req: number, code: typeof AnswerCode.Applied, document: Document | undefined]
  | [req: number, code: typeof AnswerCode.NotExists]
  | [req: number, code: typeof AnswerCode.Failed, error: WireError]
  | [req: number, code: typeof AnswerCode.Exists, document: Document | undefined];

export const AnswerCode = { Applied: 0, NotExists: 1, Failed: 2, Exists: 3 } as const;

/** The answer to a worker's writes up to `upTo`: "applied" unless `special` (in request order) says otherwise. */
export type WriteAcks = [upTo: number, special?: SpecialAnswer[]];

/**
 * What a master sends a worker's read replica about its stores. In-order operations (nearly all
 * of the traffic) travel as tuples; `prune` and `clock` concern every store.
 */
export type WorkerFeedItem = OperationWire | Exclude<FeedItem, { t: 'op' }> | { t: 'clock'; offset: number };

/** A store's entries as a worker starts reading it, and the cluster clock's offset. */
export type StoreSnapshot = [store: string, entries: Array<[string, Entry]>, clockOffset: number];

/**
 * One message to one worker (a tuple: small, and msgpack defines no record for it): the changes
 * to the stores it reads (packed once for every worker reading the same stores), then the answers
 * to its writes — behind the changes they caused, so a resolved write is readable — or the first
 * snapshot of a store it started reading.
 */
export type WorkerFeed = [packed: Uint8Array | null, acks: WriteAcks | null, snapshot?: StoreSnapshot];

/** Sends a feed to one worker; false when that process is gone. */
export type FeedSink = (workerId: number, pid: number, feed: WorkerFeed) => boolean;

interface Reader {
  workerId: number;
  stores: Set<string>;
}

/** The store an item concerns; undefined for items that concern every store. */
function storeOf(item: WorkerFeedItem): string | undefined {
  if (Array.isArray(item)) return item[0];
  return item.t === 'prune' || item.t === 'clock' ? undefined : item.store;
}

/**
 * A master's feeds to its workers. A worker receives the changes of a store only once it reads
 * that store (its first read asks for the store's snapshot), so a worker that only writes a store
 * never decodes or applies that store's traffic. Changes are sent once per turn of the event loop.
 */
export class WorkerFeeds {
  /** By pid: who reads what. */
  private readonly readers = new Map<number, Reader>();
  /** How many workers read each store. */
  private readonly readCounts = new Map<string, number>();
  private items: WorkerFeedItem[] = [];
  private acks = new Map<number, { workerId: number; acks: WriteAcks }>();
  private scheduled = false;

  constructor(private readonly sink: () => FeedSink | undefined) {}

  /** Whether any worker reads `store` (lets the host skip building items nobody receives). */
  isRead(store: string): boolean {
    return this.readCounts.has(store);
  }

  hasReaders(): boolean {
    return this.readers.size !== 0;
  }

  /** A worker starts reading a store: everything sent so far goes first, then the store's snapshot. */
  addReader(workerId: number, pid: number, store: string, entries: Array<[string, Entry]>, offset: number): void {
    this.flush();
    let reader = this.readers.get(pid);
    if (!reader) this.readers.set(pid, (reader = { workerId, stores: new Set() }));
    if (!reader.stores.has(store)) {
      reader.stores.add(store);
      this.readCounts.set(store, (this.readCounts.get(store) ?? 0) + 1);
    }
    this.send(workerId, pid, [null, null, [store, entries, offset]]);
  }

  push(item: WorkerFeedItem): void {
    this.items.push(item);
    this.schedule();
  }

  /** Answers a worker's writes up to `upTo`; merged with answers not yet sent to it. */
  ack(workerId: number, pid: number, upTo: number, special?: SpecialAnswer[]): void {
    const waiting = this.acks.get(pid)?.acks;
    if (waiting) {
      waiting[0] = upTo;
      if (special) waiting[1] = waiting[1] ? [...waiting[1], ...special] : special;
    } else {
      this.acks.set(pid, { workerId, acks: special ? [upTo, special] : [upTo] });
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.items.length === 0 && this.acks.size === 0) return;
    const items = this.items;
    const acks = this.acks;
    this.items = [];
    this.acks = new Map();
    const packs = new FeedPacks(items);
    for (const [pid, reader] of this.readers) {
      const packed = packs.for(reader.stores);
      const answer = acks.get(pid);
      acks.delete(pid);
      if (packed || answer) this.send(reader.workerId, pid, [packed ?? null, answer?.acks ?? null]);
    }
    for (const [pid, answer] of acks) this.send(answer.workerId, pid, [null, answer.acks]);
  }

  private send(workerId: number, pid: number, feed: WorkerFeed): void {
    const sink = this.sink();
    if (sink && sink(workerId, pid, feed)) return;
    this.dropReader(pid);
  }

  /** A worker process is gone: nothing more is built or sent for it. */
  dropReader(pid: number): void {
    this.acks.delete(pid);
    const reader = this.readers.get(pid);
    if (!reader) return;
    this.readers.delete(pid);
    for (const store of reader.stores) {
      const count = (this.readCounts.get(store) ?? 1) - 1;
      if (count > 0) this.readCounts.set(store, count);
      else this.readCounts.delete(store);
    }
  }
}

/** One flush's items, packed once per distinct set of stores that workers read. */
class FeedPacks {
  private readonly stores = new Set<string>();
  private readonly packs = new Map<string, Uint8Array | undefined>();

  constructor(private readonly items: WorkerFeedItem[]) {
    for (const item of items) {
      const store = storeOf(item);
      if (store !== undefined) this.stores.add(store);
    }
  }

  /** The items a worker reading `read` receives, packed; undefined when there are none. */
  for(read: Set<string>): Uint8Array | undefined {
    if (this.items.length === 0) return undefined;
    const wanted = [...this.stores].filter((store) => read.has(store));
    const key = wanted.length === this.stores.size ? '*' : wanted.join('\u0000');
    if (this.packs.has(key)) return this.packs.get(key);
    const wantedSet = new Set(wanted);
    const chosen = key === '*' ? this.items : this.items.filter((item) => {
      const store = storeOf(item);
      return store === undefined || wantedSet.has(store);
    });
    const packed = chosen.length ? encode(chosen) : undefined;
    this.packs.set(key, packed);
    return packed;
  }
}
