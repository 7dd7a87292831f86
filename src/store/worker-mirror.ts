import { Channel, MASTER } from '../core/envelope.js';
import { OverflowError, RemoteError, TimeoutError, type WireError } from '../core/errors.js';
import { physicalNow } from '../core/hlc.js';
import { log } from '../core/logger.js';
import { currentEndpoint } from '../cpu/runtime.js';
import { ChangeNotifier } from './change-events.js';
import type { FeedItem } from './feed.js';
import { storeLimits } from './limits.js';
import type { WorkerFeed } from './replica-host.js';
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
    return new Promise<WriteResult>((resolve, reject) => {
      this.pending.set(req, { resolve, reject, deadline: Date.now() + WRITE_TIMEOUT_MS, kind: request.kind });
      this.sweeper ??= setInterval(() => this.expire(), 1000).unref();
      try {
        currentEndpoint().message({ worker: MASTER }, Channel.System, StoreMethods.write, { worker: currentEndpoint().workerId, pid: process.pid, req, request });
      } catch (error) {
        this.pending.delete(req);
        reject(error);
      }
    });
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
      if (item.t === 'ack') {
        if (item.pid === process.pid) this.settle(item.req, item.result, item.error);
      } else if (item.t === 'clock') {
        this.offset = item.offset;
      } else {
        this.apply(item);
        this.changes.notify(item, this.tables);
      }
    }
  }

  private apply(item: FeedItem): void {
    switch (item.t) {
      case 'op':
        this.tables.apply(item.op);
        return;
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

  private settle(req: number, result?: WriteResult, error?: WireError): void {
    const pending = this.pending.get(req);
    if (!pending) {
      log.debug('store.late_ack', { req });
      return;
    }
    this.pending.delete(req);
    if (error) pending.reject(reviveError(error));
    else pending.resolve(result!);
  }
}

/** Store errors raised by the master reach the caller as the same class, not wrapped. */
function reviveError(wire: WireError): Error {
  if (wire.code === 'BOXWIRE_STORE_OPERATION') return new StoreOperationError(wire.message);
  if (wire.code === 'BOXWIRE_STORE_LIMIT') return new StoreLimitError(wire.message);
  if (wire.code === 'BOXWIRE_STORE_FILTER') return new StoreFilterError(wire.message);
  if (wire.code === 'BOXWIRE_OVERFLOW') return Object.assign(new OverflowError('store', 'limit'), { message: wire.message });
  return new RemoteError(wire);
}
