/**
 * SHARED_STORE on Redis. Redis holds the data (durable with its persistence); each process keeps
 * a copy of the stores it reads, fed in order by the store's Redis Stream, so reads (`get`,
 * `peek`, `all`, filters) stay local and synchronous-fast. Writes are atomic Lua scripts that
 * write the document and append it to the feed in one step (see write-script.ts, store-writer.ts).
 * A store is split into slot groups (store-keys.ts): one on a single Redis server, 16 by default
 * on a Redis Cluster, so a store's documents spread over the cluster's masters; each group has
 * its own feed, written atomically with the group's documents.
 *
 * While Redis is unreachable, writes fail at once with StoreUnavailableError and reads answer
 * from the local copy; when Redis is back (same data, restarted empty, failed over, script cache
 * flushed) the engine carries on without a restart.
 */
import type { RedisSettings } from '../../../redis/redis-settings.js';
import { ChangeNotifier } from '../../change-events.js';
import { LocalCopyEngine, type LocalReplica } from '../engine.js';
import { ConfigError } from '../../../core/errors.js';
import { StoreUnavailableError } from '../../store-errors.js';
import { StoreTables } from '../../documents/store-tables.js';
import type { WriteRequest, WriteResult } from '../../workers/write-request.js';
import { FeedReader } from './feed-reader.js';
import { GroupCounts } from './group-counts.js';
import { HeldStore, type HeldGroup } from './held-store.js';
import { unavailable } from './redis-failures.js';
import { loadSnapshot } from './snapshot-loader.js';
import { StoreConnections } from './store-connections.js';
import { storeLayout, type StoreLayout } from './store-keys.js';
import { checkStoreLayout } from './store-layout-check.js';
import { StoreWriter } from './store-writer.js';

const PRUNE_EVERY_MS = 1000;

interface Holding {
  store: HeldStore;
  loaded: boolean;
  loading?: Promise<void>;
  readers: FeedReader[];
}

/** A store as this process knows it: its layout in Redis (checked once), and its writers per group. */
interface KnownStore {
  layout: StoreLayout;
  counts: GroupCounts;
  checked: boolean;
  checking?: Promise<void>;
  writers: Array<StoreWriter | undefined>;
}

export interface RedisEngineOptions {
  feedLength: number;
  /** Slot groups per store (default: 1 on a single Redis server, 16 on a Redis Cluster). */
  slotGroups?: number;
}

/** Slot groups per store on a Redis Cluster unless configured: spreads a store over up to 16 masters. */
export const CLUSTER_SLOT_GROUPS = 16;

/** The process-side of the Redis engine: its copies of the stores it reads, and its writers. */
class RedisLocalCopy implements LocalReplica {
  readonly changes = new ChangeNotifier();
  /** Writers keep the written data as their base for the next update (callers get copies). */
  readonly keepsWrittenData = true;
  readonly connections: StoreConnections;
  private readonly storeTables = new StoreTables();
  private readonly holdings = new Map<string, Holding>();
  private readonly known = new Map<string, KnownStore>();
  private readonly pruner: NodeJS.Timeout;
  private readonly slotGroups: number;

  constructor(settings: RedisSettings, private readonly options: RedisEngineOptions) {
    this.connections = new StoreConnections(settings);
    this.slotGroups = options.slotGroups ?? (settings.cluster ? CLUSTER_SLOT_GROUPS : 1);
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
    const known = this.knownStore(store);
    const held = new HeldStore(store, known.layout, this.storeTables, this.changes);
    const created: Holding = { store: held, loaded: false, readers: [] };
    created.loading = this.load(known).then(
      (snapshots) => {
        held.groups.forEach((group, g) => group.load(snapshots[g], false));
        created.loaded = true;
        created.loading = undefined;
        created.readers = this.readers(held);
        for (const reader of created.readers) reader.start();
      },
      (error: Error) => {
        this.holdings.delete(store);
        if (error instanceof ConfigError) throw error;
        throw new StoreUnavailableError(`SHARED_STORE('${store}'): cannot load the store from Redis (${this.connections.describe()}): ${error.message}; retry once Redis is back`, false, { cause: error });
      },
    );
    // Callers that only test readiness (peek, onChange) drop this Promise: a failed load must not
    // become an unhandled rejection; callers that await it still get the error.
    created.loading.catch(() => undefined);
    this.holdings.set(store, created);
    return created.loading;
  }

  /**
   * The feed readers of a store: on a single server one connection follows every group (one XREAD
   * over all their feeds); on a Redis Cluster one per group (a command may touch one slot only).
   */
  private readers(held: HeldStore): FeedReader[] {
    const reload = (group: HeldGroup) => this.reload(group);
    if (!this.connections.settings.cluster || held.groups.length === 1) return [new FeedReader(held.name, held.groups, this.connections, reload)];
    return held.groups.map((group) => new FeedReader(`${held.name}#${group.keys.group}`, [group], this.connections, reload));
  }

  private async load(known: KnownStore) {
    const ready = this.connections.whenCommandReady();
    if (ready !== true && !(await ready)) throw new Error('Redis is unreachable and this process has not loaded this store yet, so there is nothing to answer from');
    await this.checked(known);
    return Promise.all(known.layout.groups.map((keys) => loadSnapshot(this.connections.command, keys)));
  }

  private async reload(group: HeldGroup): Promise<void> {
    group.load(await loadSnapshot(this.connections.command, group.keys), true);
  }

  private knownStore(store: string): KnownStore {
    let known = this.known.get(store);
    if (!known) {
      known = { layout: storeLayout(store, this.slotGroups), counts: new GroupCounts(this.slotGroups), checked: false, writers: [] };
      this.known.set(store, known);
    }
    return known;
  }

  /** Checks the store's layout in Redis once (concurrent callers share the check; a failed one is tried again next time). */
  private checked(known: KnownStore): Promise<void> {
    known.checking ??= checkStoreLayout(this.connections.command, known.layout, known.counts, this.now()).then(
      () => {
        known.checked = true;
      },
      (error: Error) => {
        known.checking = undefined;
        throw error;
      },
    );
    return known.checking;
  }

  whenWritable(): undefined {
    return undefined;
  }

  write(request: WriteRequest): Promise<WriteResult> {
    const known = this.knownStore(request.store);
    if (!known.checked) return this.checkThenWrite(known, request);
    if (request.kind === 'clear' && known.layout.groups.length > 1) {
      // A clear clears every group, each in its own order (writes this process made before it, in any group, go before it).
      return Promise.all(known.layout.groups.map((keys) => this.writer(known, keys.group).write(request))).then((results) => results[0]);
    }
    return this.writer(known, request.id === undefined ? 0 : known.layout.groupOf(request.id)).write(request);
  }

  private async checkThenWrite(known: KnownStore, request: WriteRequest): Promise<WriteResult> {
    const ready = this.connections.whenCommandReady();
    if (ready !== true && !(await ready)) throw unavailable(this.connections, request, false);
    try {
      await this.checked(known);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw unavailable(this.connections, request, false, (error as Error).message.split('\n')[0]);
    }
    return this.write(request);
  }

  private writer(known: KnownStore, group: number): StoreWriter {
    let writer = known.writers[group];
    if (!writer) {
      const store = known.layout.store;
      const held = () => {
        const holding = this.holdings.get(store);
        return holding?.loaded ? holding.store.groups[group] : undefined;
      };
      writer = new StoreWriter(store, known.layout.groups[group], this.connections, held, this.options.feedLength, known.counts);
      known.writers[group] = writer;
    }
    return writer;
  }

  close(): void {
    clearInterval(this.pruner);
    for (const holding of this.holdings.values()) for (const reader of holding.readers) reader.stop();
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
