/**
 * Follows one store's feed for this process, on its own blocking connection (XREAD BLOCK parks a
 * connection; the command connection stays free for writes). Entries apply in order; an entry
 * that does not follow the copy's sequence (the feed was trimmed past us while we were away, or
 * Redis came back with another data set) makes the store reload. After every reconnect the
 * reader also compares the data set's epoch and sequence with its own, which catches a Redis
 * that restarted empty even when nobody has written since.
 */
import { log } from '../../../core/logger.js';
import type { RedisClient } from '../../../redis/redis-connection.js';
import type { FeedEntry, HeldStore } from './held-store.js';
import type { StoreConnections } from './store-connections.js';

/** Entries per XREAD, and how long one blocks (it returns at once when entries arrive). */
const COUNT = 1000;
const BLOCK_MS = 1000;

export class FeedReader {
  private client?: RedisClient;
  private generation = -1;
  private checkNeeded = false;
  private stopped = false;

  constructor(
    private readonly held: HeldStore,
    private readonly connections: StoreConnections,
    /** Reloads the store from Redis (throws while Redis is unreachable; the reader retries). */
    private readonly reload: (held: HeldStore) => Promise<void>,
  ) {}

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
    const client = this.connections.openBlocking(this.held.name);
    let first = true;
    client.on('ready', () => {
      if (!first) this.checkNeeded = true;
      first = false;
    });
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
          if (await this.dataSetChanged(client)) {
            await this.reload(this.held);
            continue;
          }
        }
        const reply = (await client.xreadBuffer('COUNT', COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', this.held.keys.feed, this.held.position)) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        failures = 0;
        if (!reply || this.stopped) continue;
        for (const [id, flat] of reply[0][1]) {
          if (!this.held.apply(toEntry(id, flat))) {
            log.info('store.feed_gap', { store: this.held.name, at: this.held.position, note: 'the feed was trimmed past this process, or Redis holds another data set: reloading the store' });
            await this.reload(this.held);
            break;
          }
        }
      } catch (error) {
        if (this.stopped) return;
        failures++;
        // After a failure the data set may have changed under us: check before reading on.
        this.checkNeeded = true;
        if (failures === 1) log.debug('store.feed_read_failed', { store: this.held.name, error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** Math.min(failures, 5))).unref?.());
      }
    }
  }

  /** Whether Redis now holds another data set than the one this copy follows (restarted empty, flushed). */
  private async dataSetChanged(client: RedisClient): Promise<boolean> {
    const [epoch, seq] = await client.hmget(this.held.keys.meta, 'epoch', 'seq');
    if (this.held.epoch !== null && epoch !== this.held.epoch) return true;
    return Number(seq ?? 0) < this.held.seq;
  }
}

function toEntry(id: Buffer, flat: Buffer[]): FeedEntry {
  const fields = new Map<string, Buffer>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i].toString(), flat[i + 1]);
  return { id: id.toString(), fields };
}
