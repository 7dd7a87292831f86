/**
 * Follows a store's feeds for this process, on its own blocking connection (XREAD BLOCK parks a
 * connection; the command connection stays free for writes). One reader follows every slot group
 * of a store on a single Redis server (one XREAD over all the group feeds), or one group in a
 * Redis Cluster (a command there may touch one slot only). Entries apply in order; an entry
 * that does not follow the copy's sequence (the feed was trimmed past us while we were away, or
 * Redis came back with another data set) makes the store reload. After every reconnect the
 * reader also compares the data set's epoch and sequence with its own, which catches a Redis
 * that restarted empty even when nobody has written since.
 */
import { log } from '../../../core/logger.js';
import type { RedisClient } from '../../../redis/redis-connection.js';
import type { FeedEntry, HeldGroup } from './held-store.js';
import type { StoreConnections } from './store-connections.js';

/** Entries per XREAD, and how long one blocks (it returns at once when entries arrive). */
const COUNT = 1000;
const BLOCK_MS = 1000;

export class FeedReader {
  private client?: RedisClient;
  private generation = -1;
  private checkNeeded = false;
  private stopped = false;

  private readonly byFeed: Map<string, HeldGroup>;
  /** The entry that last made a group reload (a second failure there right after: skip it). */
  private readonly failedAt = new Map<HeldGroup, string>();

  constructor(
    /** The store's name, and what the blocking connection is called (CLIENT LIST). */
    private readonly label: string,
    private readonly groups: HeldGroup[],
    private readonly connections: StoreConnections,
    /** Reloads one group from Redis (throws while Redis is unreachable; the reader retries). */
    private readonly reload: (group: HeldGroup) => Promise<void>,
  ) {
    this.byFeed = new Map(groups.map((group) => [group.keys.feed, group]));
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.client?.disconnect();
  }

  private connection(): RedisClient {
    if (this.client && this.generation === this.connections.generation) return this.client;
    this.client?.disconnect();
    this.generation = this.connections.generation;
    const client = this.connections.openBlocking(this.label);
    let first = true;
    client.on('ready', () => {
      if (!first) this.checkNeeded = true;
      first = false;
    });
    // A Redis Cluster client stays 'ready' while one node restarts, and may hold our XREAD until
    // the node is back (maybe empty): a node's error or removal also means "check before reading on".
    const suspect = () => {
      this.checkNeeded = true;
    };
    client.on('node error', suspect);
    client.on('-node', suspect);
    this.client = client;
    return client;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const client = this.connection();
        if (this.checkNeeded) {
          this.checkNeeded = false;
          const changed = await this.changedGroups(client);
          for (const group of changed) await this.reload(group);
          if (changed.length) continue;
        }
        const streams = this.groups.map((group) => group.keys.feed);
        const positions = this.groups.map((group) => group.position);
        const reply = (await client.xreadBuffer('COUNT', COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', ...streams, ...positions)) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        failures = 0;
        if (!reply || this.stopped) continue;
        for (const [feed, entries] of reply) {
          const group = this.byFeed.get(feed.toString());
          if (!group) continue;
          for (const [id, flat] of entries) {
            const entry = toEntry(id, flat);
            if (group.apply(entry)) continue;
            if (this.failedAt.get(group) === entry.id) {
              // The same entry again right after a reload: not one the write script added (those
              // are within the store's meta). Step over it rather than reload forever.
              log.warn('store.feed_entry_skipped', { store: group.name, group: group.keys.group, entry: entry.id, note: 'an entry the copy cannot follow even after reloading; something other than boxwire writes to this feed' });
              group.position = entry.id;
              this.failedAt.delete(group);
              continue;
            }
            log.info('store.feed_gap', { store: group.name, group: group.keys.group, at: group.position, note: 'the feed was trimmed past this process, or Redis holds another data set: reloading the store' });
            await this.reload(group);
            // Only once the reload went through: an entry the script wrote is now behind the copy.
            this.failedAt.set(group, entry.id);
            break;
          }
        }
      } catch (error) {
        if (this.stopped) return;
        failures++;
        // After a failure the data set may have changed under us: check before reading on.
        this.checkNeeded = true;
        if (failures === 1) log.debug('store.feed_read_failed', { store: this.label, error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** Math.min(failures, 5))).unref?.());
      }
    }
  }

  /** The groups for which Redis now holds another data set than the one this copy follows (restarted empty, flushed). */
  private async changedGroups(client: RedisClient): Promise<HeldGroup[]> {
    const changed: HeldGroup[] = [];
    for (const group of this.groups) {
      const [epoch, seq] = await client.hmget(group.keys.meta, 'epoch', 'seq');
      if ((group.epoch !== null && epoch !== group.epoch) || Number(seq ?? 0) < group.seq) changed.push(group);
    }
    return changed;
  }
}

function toEntry(id: Buffer, flat: Buffer[]): FeedEntry {
  const fields = new Map<string, Buffer>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i].toString(), flat[i + 1]);
  return { id: id.toString(), fields };
}
