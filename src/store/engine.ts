import type { ChangeListener, ChangeNotifier } from './change-events.js';
import { copyValue } from './document-values.js';
import type { DocumentTest } from './filter.js';
import { isLive, type StoreTables } from './store-tables.js';
import type { Document } from './update-operators.js';
import type { WriteRequest, WriteResult } from './write-request.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * The engine seam: what SHARED_STORE needs from wherever the data lives. The in-memory replicated
 * engine below keeps a replica in every process; a Redis engine (a later issue) will implement
 * the same contract over ioredis. Every document handed out is a copy.
 */
export interface StoreEngine {
  readonly kind: string;
  /** A Promise while the engine cannot serve yet (a worker waiting for its snapshot); undefined when ready. */
  whenReady(): Promise<void> | undefined;
  get(store: string, id: string): MaybePromise<Document | undefined>;
  /** Live entries matching `test` (all when absent), as [id, copy] pairs. */
  entries(store: string, test?: DocumentTest): MaybePromise<Array<[string, Document]>>;
  count(store: string, test?: DocumentTest): MaybePromise<number>;
  write(request: WriteRequest): Promise<WriteResult>;
  onChange(store: string, listener: ChangeListener): () => void;
}

/** The local side of the in-memory engine: a replica host (master, solo) or a worker's mirror. */
export interface LocalReplica {
  tables(): StoreTables;
  /** Cluster time in ms, for judging expiry. */
  now(): number;
  whenReady(): Promise<void> | undefined;
  write(request: WriteRequest): Promise<WriteResult>;
  readonly changes: ChangeNotifier;
}

/** Reads from the process's own replica (memory speed); writes through the replication protocol. */
export class InMemoryReplicatedEngine implements StoreEngine {
  readonly kind = 'memory';

  constructor(private readonly local: LocalReplica) {}

  whenReady(): Promise<void> | undefined {
    return this.local.whenReady();
  }

  get(store: string, id: string): Document | undefined {
    const entry = this.local.tables().peek(store)?.get(id);
    return isLive(entry, this.local.now()) ? copyValue(entry.doc) : undefined;
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

  onChange(store: string, listener: ChangeListener): () => void {
    return this.local.changes.on(store, listener);
  }
}
