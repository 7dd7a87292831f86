import { Channel, MASTER } from '../../core/envelope.js';
import { OverflowError, RemoteError, TimeoutError, type WireError } from '../../core/errors.js';
import { physicalNow } from '../../core/hlc.js';
import { currentEndpoint } from '../../cpu/index.js';
import { decode } from '../../core/codec.js';
import { ChangeNotifier } from '../change-events.js';
import { storeLimits } from '../limits.js';
import { operationFromWire, type OperationWire } from '../replication/operation-wire.js';
import { AnswerCode, type StoreSnapshot, type WorkerFeed, type WorkerFeedItem, type WriteAcks } from './worker-feeds.js';
import { writeRequestToWire } from './write-request-wire.js';
import { StoreTables } from '../documents/store-tables.js';
import { StoreFilterError, StoreLimitError, StoreOperationError } from '../store-errors.js';
import { StoreMethods } from '../store-methods.js';
import { PendingWrites } from './pending-writes.js';
import type { WriteRequest, WriteResult } from './write-request.js';

const WRITE_TIMEOUT_MS = 30_000;

/**
 * A worker's read replica: copies of the stores this worker reads, fed in its master's order, so
 * reads are local map lookups. A store is loaded on its first read (its snapshot, then every
 * change); stores the worker only writes are never sent here. Writes go to the master, which
 * stamps and applies them; the answer comes behind the change itself on the same link, so once a
 * write's promise resolves this process reads it (read-your-writes).
 */
export class WorkerMirror {
  readonly tables = new StoreTables();
  readonly changes = new ChangeNotifier();
  private offset = 0;
  private readonly readable = new Set<string>();
  private readonly loading = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  private readonly pending = new PendingWrites();
  private queued: WriteRequest[] = [];
  private firstQueued = 0;
  private sweeper?: NodeJS.Timeout;

  /** Undefined once `store` is loaded here; else asks the master for it (once) and resolves when it arrived. */
  whenReadable(store: string): Promise<void> | undefined {
    if (this.readable.has(store)) return undefined;
    let loading = this.loading.get(store);
    if (!loading) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.loading.set(store, (loading = { promise, resolve }));
      const endpoint = currentEndpoint();
      endpoint.message({ worker: MASTER }, Channel.System, StoreMethods.subscribe, { worker: endpoint.workerId, pid: process.pid, store });
    }
    return loading.promise;
  }

  /** Stores this worker asked its master for and has not received yet. */
  loadingStores(): string[] {
    return [...this.loading.keys()];
  }

  now(): number {
    return physicalNow() + this.offset;
  }

  write(request: WriteRequest): Promise<WriteResult> {
    if (this.pending.size >= storeLimits().maxInFlightWrites) {
      return Promise.reject(new OverflowError('the store write queue of this worker', `${storeLimits().maxInFlightWrites} writes waiting for the master`));
    }
    // An update resolves to the document after it: read here when this worker holds the store,
    // else the master sends it with the answer.
    if (request.kind === 'update' && !this.readable.has(request.store)) request.returnDocument = true;
    return new Promise<WriteResult>((resolve, reject) => {
      const req = this.pending.add({ resolve, reject, deadline: Date.now() + WRITE_TIMEOUT_MS, kind: request.kind });
      if (this.queued.length === 0) {
        this.firstQueued = req;
        queueMicrotask(() => this.sendQueued());
      }
      this.queued.push(request);
      this.sweeper ??= setInterval(() => this.expire(), 1000).unref();
    });
  }

  /** The writes of this turn of the event loop go to the master as one message, in order. */
  private sendQueued(): void {
    const list = this.queued;
    const first = this.firstQueued;
    this.queued = [];
    try {
      // The documents were copied and checked as the writes were made (see SharedStore).
      const endpoint = currentEndpoint();
      endpoint.notify({ worker: MASTER }, StoreMethods.writes, { worker: endpoint.workerId, pid: process.pid, first, list: list.map(writeRequestToWire) });
    } catch (error) {
      // Nothing was sent: these are the newest writes, and none of them reached the master.
      for (const pending of this.pending.takeFrom(first)) pending.reject(error as Error);
    }
  }

  /** One timer for every pending write (a timer per write costs more than the write). */
  private expire(): void {
    const now = Date.now();
    this.pending.takeWhile((_req, pending) => {
      if (pending.deadline > now) return false; // oldest first = earliest deadline first
      pending.reject(new TimeoutError(`SHARED_STORE ${pending.kind}`, 'master', WRITE_TIMEOUT_MS));
      return true;
    });
  }

  /** A message from the master: a store's snapshot, or changes and answers, in the master's order. */
  onFeed([packed, acks, snapshot]: WorkerFeed): void {
    if (snapshot) this.load(snapshot);
    if (packed) for (const item of decode(packed) as WorkerFeedItem[]) this.apply(item);
    if (acks) this.settleUpTo(acks);
  }

  private load([store, entries, offset]: StoreSnapshot): void {
    this.tables.replaceTable(store, new Map(entries));
    this.offset = offset;
    // The first load is not a change: listeners hear changes from the moment the store is here.
    this.readable.add(store);
    this.loading.get(store)?.resolve();
    this.loading.delete(store);
  }

  private apply(item: WorkerFeedItem): void {
    if (Array.isArray(item)) {
      const op = operationFromWire(item as OperationWire);
      this.tables.apply(op);
      if (this.changes.wants(op.store)) this.changes.notify({ t: 'op', op }, this.tables);
      return;
    }
    switch (item.t) {
      case 'clock':
        this.offset = item.offset;
        return;
      case 'entry':
        this.tables.set(item.store, item.id, item.entry);
        break;
      case 'table':
        this.tables.replaceTable(item.store, new Map(item.entries));
        break;
      case 'prune':
        this.tables.prune(item.wall);
        break;
    }
    this.changes.notify(item, this.tables);
  }

  /** Every write up to `upTo` is answered: "applied" unless `special` (in request order) says otherwise. */
  private settleUpTo([upTo, special = []]: WriteAcks): void {
    let next = 0;
    this.pending.takeWhile((req, pending) => {
      if (req > upTo) return false;
      while (next < special.length && special[next][0] < req) next++; // answers to writes that timed out here
      const answer = special[next]?.[0] === req ? special[next++] : undefined;
      if (!answer) pending.resolve(APPLIED);
      else if (answer[1] === AnswerCode.Failed) pending.reject(reviveError(answer[2]));
      else if (answer[1] === AnswerCode.NotExists) pending.resolve(NOT_EXISTS);
      else if (answer[1] === AnswerCode.Exists) pending.resolve({ outcome: 'exists', document: answer[2] ?? undefined });
      else pending.resolve(pending.kind === 'remove' ? { outcome: 'applied', removed: answer[2] } : { outcome: 'applied', document: answer[2] ?? undefined });
      return true;
    });
  }
}

const APPLIED: WriteResult = Object.freeze({ outcome: 'applied' });
const NOT_EXISTS: WriteResult = Object.freeze({ outcome: 'notExists' });

/** Store errors raised by the master reach the caller as the same class, not wrapped. */
function reviveError(wire: WireError): Error {
  if (wire.code === 'BOXWIRE_STORE_OPERATION') return new StoreOperationError(wire.message);
  if (wire.code === 'BOXWIRE_STORE_LIMIT') return new StoreLimitError(wire.message);
  if (wire.code === 'BOXWIRE_STORE_FILTER') return new StoreFilterError(wire.message);
  if (wire.code === 'BOXWIRE_OVERFLOW') return Object.assign(new OverflowError('store', 'limit'), { message: wire.message });
  return new RemoteError(wire);
}
