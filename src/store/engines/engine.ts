import type { ChangeListener, ChangeNotifier } from '../change-events.js';
import { copyValue } from '../documents/document-values.js';
import type { DocumentTest } from '../documents/filter.js';
import { SHAREABLE, isLive, type Entry, type StoreTables } from '../documents/store-tables.js';
import type { Document } from '../documents/update-operators.js';
import type { WriteRequest, WriteResult } from '../workers/write-request.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * The engine seam: what SHARED_STORE needs from wherever the data lives. The in-memory replicated
 * engine below keeps a replica in every process; the Redis engine (src/store/engines/redis/)
 * keeps a copy of the stores each process reads, fed by a Redis Stream per store. Both read
 * through LocalCopyEngine. Every document handed out is a copy.
 */
export interface StoreEngine {
  readonly kind: string;
  /** Whether `write` keeps the data object it is given as the stored document (callers then hand out copies of it). */
  readonly keepsWrittenData: boolean;
  /** A Promise while the engine cannot serve reads of `store` yet (a worker loading it, a server catching up); undefined when ready. */
  whenReadable(store: string): Promise<void> | undefined;
  /** A Promise while writes must wait (a server catching up with its peers); undefined when they can go. */
  whenWritable(): Promise<void> | undefined;
  get(store: string, id: string): MaybePromise<Document | undefined>;
  /** The stored document itself, read-only, without a copy (a copy when it holds values that cannot be frozen); only for engines with a local replica. */
  peek(store: string, id: string): Readonly<Document> | undefined;
  /** Live entries matching `test` (all when absent), as [id, copy] pairs. */
  entries(store: string, test?: DocumentTest): MaybePromise<Array<[string, Document]>>;
  count(store: string, test?: DocumentTest): MaybePromise<number>;
  write(request: WriteRequest): Promise<WriteResult>;
  onChange(store: string, listener: ChangeListener): () => void;
}

/** The local side of an engine: a replica host (master, solo), a worker's mirror, or the Redis engine's per-process copy. */
export interface LocalReplica {
  tables(): StoreTables;
  /** Cluster time in ms, for judging expiry. */
  now(): number;
  whenReadable(store: string): Promise<void> | undefined;
  whenWritable(): Promise<void> | undefined;
  write(request: WriteRequest): Promise<WriteResult>;
  readonly changes: ChangeNotifier;
  /** A replica host stores the written object itself; a worker's mirror only sends it to its master. */
  readonly keepsWrittenData: boolean;
}

/** Reads from the process's own copy of the data (memory speed); writes through the local side. */
export class LocalCopyEngine implements StoreEngine {
  readonly keepsWrittenData: boolean;

  constructor(readonly kind: string, protected readonly local: LocalReplica) {
    this.keepsWrittenData = local.keepsWrittenData;
  }

  whenReadable(store: string): Promise<void> | undefined {
    return this.local.whenReadable(store);
  }

  whenWritable(): Promise<void> | undefined {
    return this.local.whenWritable();
  }

  get(store: string, id: string): Document | undefined {
    const entry = this.live(store, id);
    return entry && copyValue(entry.doc);
  }

  peek(store: string, id: string): Readonly<Document> | undefined {
    const entry = this.live(store, id);
    if (!entry) return undefined;
    return entry[SHAREABLE] ? entry.doc : copyValue(entry.doc);
  }

  /** The clock is read only for entries that can expire: a read without one is two map lookups. */
  private live(store: string, id: string): Entry | undefined {
    const entry = this.local.tables().peek(store)?.get(id);
    if (entry === undefined || (entry.expiresAt !== undefined && entry.expiresAt <= this.local.now())) return undefined;
    return entry;
  }

  entries(store: string, test?: DocumentTest): Array<[string, Document]> {
    const out: Array<[string, Document]> = [];
    const now = this.local.now();
    for (const [id, entry] of this.local.tables().peek(store) ?? []) {
      if (isLive(entry, now) && (!test || test(entry.doc))) out.push([id, copyValue(entry.doc)]);
    }
    return out;
  }

  count(store: string, test?: DocumentTest): number {
    let n = 0;
    const now = this.local.now();
    for (const entry of this.local.tables().peek(store)?.values() ?? []) if (isLive(entry, now) && (!test || test(entry.doc))) n++;
    return n;
  }

  write(request: WriteRequest): Promise<WriteResult> {
    return this.local.write(request);
  }

  /** Listening is reading: the process starts loading the store (if it does not hold it yet). */
  onChange(store: string, listener: ChangeListener): () => void {
    // A load that fails (its backend unreachable) is retried by the next read; nothing to report here.
    this.local.whenReadable(store)?.catch(() => undefined);
    return this.local.changes.on(store, listener);
  }
}

/** Reads from the process's own replica (memory speed); writes through the replication protocol. */
export class InMemoryReplicatedEngine extends LocalCopyEngine {
  constructor(local: LocalReplica) {
    super('memory', local);
  }
}
