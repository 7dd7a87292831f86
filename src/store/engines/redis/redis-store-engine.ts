/**
 * SHARED_STORE on Redis. Redis holds the data (durable with its persistence); each process keeps
 * a copy of the stores it reads, fed in order by the store's Redis Stream, so reads (`get`,
 * `peek`, `all`, filters) stay local and synchronous-fast. Writes are atomic Lua scripts that
 * write the document and append it to the feed in one step (see write-script.ts, store-writer.ts).
 *
 * While Redis is unreachable, writes fail at once with StoreUnavailableError and reads answer
 * from the local copy; when Redis is back (same data, restarted empty, failed over, script cache
 * flushed) the engine carries on without a restart.
 */
import type { RedisSettings } from '../../../redis/redis-settings.js';
import { ChangeNotifier } from '../../change-events.js';
import { LocalCopyEngine, type LocalReplica } from '../engine.js';
import { StoreUnavailableError } from '../../store-errors.js';
import { StoreTables } from '../../documents/store-tables.js';
import type { WriteRequest, WriteResult } from '../../workers/write-request.js';
import { FeedReader } from './feed-reader.js';
import { HeldStore } from './held-store.js';
import { loadSnapshot } from './snapshot-loader.js';
import { StoreConnections } from './store-connections.js';
import { StoreWriter } from './store-writer.js';

const PRUNE_EVERY_MS = 1000;

interface Holding {
  store: HeldStore;
  loaded: boolean;
  loading?: Promise<void>;
  reader?: FeedReader;
}

export interface RedisEngineOptions {
  feedLength: number;
}

/** The process-side of the Redis engine: its copies of the stores it reads, and its writers. */
class RedisLocalCopy implements LocalReplica {
  readonly changes = new ChangeNotifier();
  /** Writers keep the written data as their base for the next update (callers get copies). */
  readonly keepsWrittenData = true;
  readonly connections: StoreConnections;
  private readonly storeTables = new StoreTables();
  private readonly holdings = new Map<string, Holding>();
  private readonly writers = new Map<string, StoreWriter>();
  private readonly pruner: NodeJS.Timeout;

  constructor(settings: RedisSettings, private readonly options: RedisEngineOptions) {
    this.connections = new StoreConnections(settings);
    // Expired entries are invisible at once (reads check the time); this only frees their memory. Expiry emits nothing.
    this.pruner = setInterval(() => {
      for (const { store, id } of this.storeTables.prune(this.now())) this.holdings.get(store)?.store.forget(id);
    }, PRUNE_EVERY_MS).unref();
  }

  tables(): StoreTables {
    return this.storeTables;
  }

  /** Redis time: expiries are stamped by Redis. */
  now(): number {
    return Date.now() + this.connections.clockOffsetMs;
  }

  holds(store: string): boolean {
    return this.holdings.get(store)?.loaded === true;
  }

  whenReadable(store: string): Promise<void> | undefined {
    const holding = this.holdings.get(store);
    if (holding?.loaded) return undefined;
    if (holding) return holding.loading;
    const held = new HeldStore(store, this.storeTables, this.changes);
    const created: Holding = { store: held, loaded: false };
    created.loading = this.load(held).then(
      (snapshot) => {
        held.load(snapshot, false);
        created.loaded = true;
        created.loading = undefined;
        created.reader = new FeedReader(held, this.connections, (h) => this.reload(h));
        created.reader.start();
      },
      (error: Error) => {
        this.holdings.delete(store);
        throw new StoreUnavailableError(`SHARED_STORE('${store}'): cannot load the store from Redis (${this.connections.describe()}): ${error.message}; retry once Redis is back`, false, { cause: error });
      },
    );
    // Callers that only test readiness (peek, onChange) drop this Promise: a failed load must not
    // become an unhandled rejection; callers that await it still get the error.
    created.loading.catch(() => undefined);
    this.holdings.set(store, created);
    return created.loading;
  }

  private async load(held: HeldStore) {
    const ready = this.connections.whenCommandReady();
    if (ready !== true && !(await ready)) throw new Error('Redis is unreachable and this process has not loaded this store yet, so there is nothing to answer from');
    return loadSnapshot(this.connections.command, held.keys);
  }

  private async reload(held: HeldStore): Promise<void> {
    held.load(await loadSnapshot(this.connections.command, held.keys), true);
  }

  whenWritable(): undefined {
    return undefined;
  }

  write(request: WriteRequest): Promise<WriteResult> {
    let writer = this.writers.get(request.store);
    if (!writer) {
      const store = request.store;
      writer = new StoreWriter(store, this.connections, () => (this.holdings.get(store)?.loaded ? this.holdings.get(store)!.store : undefined), this.options.feedLength);
      this.writers.set(store, writer);
    }
    return writer.write(request);
  }

  close(): void {
    clearInterval(this.pruner);
    for (const holding of this.holdings.values()) holding.reader?.stop();
    this.connections.close();
  }
}

export class RedisStoreEngine extends LocalCopyEngine {
  private readonly copy: RedisLocalCopy;

  constructor(settings: RedisSettings, options: RedisEngineOptions) {
    const copy = new RedisLocalCopy(settings, options);
    super('redis', copy);
    this.copy = copy;
  }

  /** Whether this process holds a copy of `store` (it read it). */
  holds(store: string): boolean {
    return this.copy.holds(store);
  }

  /** Closes the engine's Redis connections (tests; a process normally keeps them until it exits). */
  close(): void {
    this.copy.close();
  }
}
