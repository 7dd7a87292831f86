import { Channel, MASTER } from '../core/envelope.js';
import { OverflowError, RemoteError, TimeoutError, type WireError } from '../core/errors.js';
import { physicalNow } from '../core/hlc.js';
import { currentEndpoint } from '../cpu/runtime.js';
import { ChangeNotifier } from './change-events.js';
import type { FeedItem } from './feed.js';
import { storeLimits } from './limits.js';
import type { SpecialAnswer, WorkerFeed } from './replica-host.js';
import { operationFromWire } from './operation-wire.js';
import { writeRequestToWire } from './write-request-wire.js';
import { loadTables } from './snapshot.js';
import { StoreTables } from './store-tables.js';
import { StoreFilterError, StoreLimitError, StoreOperationError } from './store-errors.js';
import { StoreMethods } from './store-methods.js';
import type { WriteRequest, WriteResult } from './write-request.js';

const WRITE_TIMEOUT_MS = 30_000;

/**
 * A worker's read replica: a copy of its master's replica, fed in the master's order, so reads
 * are local map lookups. Writes go to the master, which stamps and applies them; the answer comes
 * behind the change itself on the same link, so once a write's promise resolves this process
 * reads it (read-your-writes).
 */
export class WorkerMirror {
  readonly tables = new StoreTables();
  readonly changes = new ChangeNotifier();
  private offset = 0;
  private lastSeq = -1;
  private readyPromise?: Promise<void>;
  private resolveReady?: () => void;
  private ready = false;
  private nextReq = 1;
  private readonly pending = new Map<number, { resolve: (r: WriteResult) => void; reject: (e: Error) => void; deadline: number; kind: string }>();
  private queued: WriteRequest[] = [];
  private firstQueued = 0;
  private sweeper?: NodeJS.Timeout;

  /** Subscribes to the master on first use; resolves once the snapshot arrived. */
  whenReady(): Promise<void> | undefined {
    if (this.ready) return undefined;
    if (!this.readyPromise) {
      this.readyPromise = new Promise((resolve) => (this.resolveReady = resolve));
      currentEndpoint().message({ worker: MASTER }, Channel.System, StoreMethods.subscribe, { worker: currentEndpoint().workerId, pid: process.pid });
    }
    return this.readyPromise;
  }

  now(): number {
    return physicalNow() + this.offset;
  }

  write(request: WriteRequest): Promise<WriteResult> {
    if (this.pending.size >= storeLimits().maxInFlightWrites) {
      return Promise.reject(new OverflowError('the store write queue of this worker', `${storeLimits().maxInFlightWrites} writes waiting for the master`));
    }
    const req = this.nextReq++;
    if (this.queued.length === 0) {
      this.firstQueued = req;
      queueMicrotask(() => this.sendQueued());
    }
    this.queued.push(request);
    return new Promise<WriteResult>((resolve, reject) => {
      this.pending.set(req, { resolve, reject, deadline: Date.now() + WRITE_TIMEOUT_MS, kind: request.kind });
      this.sweeper ??= setInterval(() => this.expire(), 1000).unref();
    });
  }

  /** The writes of this turn of the event loop go to the master as one message, in order. */
  private sendQueued(): void {
    const list = this.queued;
    const first = this.firstQueued;
    this.queued = [];
    try {
      currentEndpoint().message({ worker: MASTER }, Channel.System, StoreMethods.writes, { worker: currentEndpoint().workerId, pid: process.pid, first, list: list.map(writeRequestToWire) });
    } catch (error) {
      for (let req = first; req < first + list.length; req++) {
        const pending = this.pending.get(req);
        this.pending.delete(req);
        pending?.reject(error as Error);
      }
    }
  }

  /** One timer for every pending write (a timer per write costs more than the write). */
  private expire(): void {
    const now = Date.now();
    for (const [req, pending] of this.pending) {
      if (pending.deadline > now) break; // insertion order = deadline order
      this.pending.delete(req);
      pending.reject(new TimeoutError(`SHARED_STORE ${pending.kind}`, 'master', WRITE_TIMEOUT_MS));
    }
  }

  /** A batch from the master. */
  onFeed(feed: WorkerFeed): void {
    if (feed.snapshot) {
      loadTables(this.tables, feed.snapshot);
      this.offset = feed.offset ?? 0;
      this.lastSeq = feed.seq;
      for (const store of this.tables.tables.keys()) this.changes.notify({ t: 'table', store, entries: [] }, this.tables);
      if (!this.ready) {
        this.ready = true;
        this.resolveReady?.();
      }
      return;
    }
    if (!this.ready || feed.seq <= this.lastSeq) return;
    this.lastSeq = feed.seq;
    for (const item of feed.items ?? []) {
      if (Array.isArray(item)) {
        const op = operationFromWire(item);
        this.tables.apply(op);
        if (this.changes.wants(op.store)) this.changes.notify({ t: 'op', op }, this.tables);
      } else if (item.t === 'acks') {
        if (item.pid === process.pid) this.settleUpTo(item.upTo, item.special);
      } else if (item.t === 'clock') {
        this.offset = item.offset;
      } else {
        this.apply(item);
        this.changes.notify(item, this.tables);
      }
    }
  }

  private apply(item: Exclude<FeedItem, { t: 'op' }>): void {
    switch (item.t) {
      case 'entry':
        this.tables.set(item.store, item.id, item.entry);
        return;
      case 'table':
        this.tables.replaceTable(item.store, new Map(item.entries));
        return;
      case 'prune':
        this.tables.prune(item.wall);
        return;
    }
  }

  /** Every write up to `upTo` is answered: "applied" unless `special` says otherwise. */
  private settleUpTo(upTo: number, special?: SpecialAnswer[]): void {
    const unusual = special && new Map(special.map((answer) => [answer[0], answer]));
    for (const [req, pending] of this.pending) {
      if (req > upTo) break; // insertion order = request order
      this.pending.delete(req);
      const answer = unusual?.get(req);
      if (answer?.[2]) pending.reject(reviveError(answer[2]));
      else pending.resolve(answer?.[1] ?? APPLIED);
    }
  }
}

const APPLIED: WriteResult = Object.freeze({ outcome: 'applied' });

/** Store errors raised by the master reach the caller as the same class, not wrapped. */
function reviveError(wire: WireError): Error {
  if (wire.code === 'BOXWIRE_STORE_OPERATION') return new StoreOperationError(wire.message);
  if (wire.code === 'BOXWIRE_STORE_LIMIT') return new StoreLimitError(wire.message);
  if (wire.code === 'BOXWIRE_STORE_FILTER') return new StoreFilterError(wire.message);
  if (wire.code === 'BOXWIRE_OVERFLOW') return Object.assign(new OverflowError('store', 'limit'), { message: wire.message });
  return new RemoteError(wire);
}
