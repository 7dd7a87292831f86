/**
 * The Redis engine's connections in one process: one command connection for writes and loads
 * (no offline queue: a write while Redis is away fails at once; unanswered writes are never
 * re-sent after a reconnect, since a re-sent batch could apply twice), and one blocking
 * connection per store this process reads (its feed reader's XREAD BLOCK).
 *
 * With a single Redis server, a `READONLY` answer means the server was failed over and is a
 * replica now: the engine asks it (ROLE) who its master is and moves every connection there.
 * A Redis Cluster follows failovers itself (MOVED).
 */
import { log } from '../../../core/logger.js';
import { createRedisConnection, type RedisClient } from '../../../redis/redis-connection.js';
import { describeRedis, type RedisSettings } from '../../../redis/redis-settings.js';
import { WRITE_COMMAND, WRITE_SCRIPT } from './write-script.js';

/** How often the same connection problem is logged at most. */
const LOG_EVERY_MS = 10_000;
/**
 * How long a call waits for the command connection before failing with StoreUnavailableError:
 * covers connecting at start and a blip, counted from when the connection went down, so while
 * Redis stays away calls fail at once.
 */
const CONNECT_GRACE_MS = 2_000;

export class StoreConnections {
  private current: RedisSettings;
  private commandClient: RedisClient;
  /** Bumped when the connections move (a failover): blocking connections of an older generation reopen. */
  generation = 0;
  /** Redis time − this process's clock, in ms (expiry is judged in Redis time). */
  clockOffsetMs = 0;
  private following?: Promise<void>;
  private lastLogged = 0;
  private closed = false;
  /** When the command connection stopped being ready (or started connecting); undefined while ready. */
  private downSince: number | undefined = Date.now();

  constructor(settings: RedisSettings) {
    this.current = settings;
    this.commandClient = this.openCommand();
  }

  get settings(): RedisSettings {
    return this.current;
  }

  get command(): RedisClient {
    return this.commandClient;
  }

  describe(): string {
    return describeRedis(this.current);
  }

  /** Whether a command sent now can reach Redis. */
  commandReady(): boolean {
    return this.commandClient.status === 'ready';
  }

  /**
   * True once the command connection is ready; false when it is not within the grace period
   * (counted from when it went down, so a Redis that has been away for a while fails calls at once).
   */
  whenCommandReady(): Promise<boolean> | boolean {
    if (this.commandReady()) return true;
    const left = (this.downSince ?? Date.now()) + CONNECT_GRACE_MS - Date.now();
    if (left <= 0 || this.closed) return false;
    const client = this.commandClient;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), left);
      const onReady = () => done(true);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        resolve(ok && this.commandReady());
      };
      client.on('ready', onReady);
    });
  }

  /** Runs one write batch (the Lua script) and answers with raw replies (documents stay bytes). */
  runWrite(keys: string[], args: Array<string | Buffer>): Promise<unknown[]> {
    const client = this.commandClient as unknown as Record<string, (...a: unknown[]) => Promise<unknown[]>>;
    return client[`${WRITE_COMMAND}Buffer`](keys.length, ...keys, ...args);
  }

  /** A new blocking connection for one store's feed reader. */
  openBlocking(store: string): RedisClient {
    const client = createRedisConnection(this.current, 'blocking', { name: `store-feed:${store}` });
    this.watchErrors(client, 'blocking');
    return client;
  }

  private openCommand(): RedisClient {
    const single = !this.current.cluster;
    const client = createRedisConnection(this.current, 'command', {
      name: 'store',
      // A single server's READONLY is handled here (follow the new master), not by reconnecting to the same replica.
      overrides: { autoResendUnfulfilledCommands: false, ...(single ? { reconnectOnError: () => false } : {}) },
    });
    client.defineCommand(WRITE_COMMAND, { lua: WRITE_SCRIPT });
    client.on('ready', () => {
      if (client !== this.commandClient) return;
      this.downSince = undefined;
      void this.measureClock(client);
    });
    client.on('close', () => {
      if (client === this.commandClient) this.downSince ??= Date.now();
    });
    this.watchErrors(client, 'command');
    return client;
  }

  private watchErrors(client: RedisClient, purpose: string): void {
    client.on('error', (error: Error) => {
      const now = Date.now();
      if (now - this.lastLogged < LOG_EVERY_MS) return;
      this.lastLogged = now;
      log.warn('store.redis_unreachable', { redis: this.describe(), purpose, error: error.message, note: 'writes fail with StoreUnavailableError; reads answer from this process; reconnecting' });
    });
  }

  /** Redis time vs ours, from the midpoint of a TIME round trip. */
  private async measureClock(client: RedisClient): Promise<void> {
    try {
      const before = Date.now();
      const [seconds, micros] = await client.time();
      const after = Date.now();
      this.clockOffsetMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (before + after) / 2;
    } catch {
      // Not ready after all: measured at the next ready.
    }
  }

  /**
   * After a READONLY answer from a single server: moves to the master that server names (ROLE).
   * Concurrent callers share one attempt.
   */
  followMaster(): Promise<void> {
    if (this.current.cluster || this.closed) return Promise.resolve();
    this.following ??= this.moveToMaster().finally(() => (this.following = undefined));
    return this.following;
  }

  private async moveToMaster(): Promise<void> {
    const role = (await this.commandClient.call('ROLE')) as unknown[];
    if (role[0] !== 'slave' && role[0] !== 'replica') return; // already a master again (e.g. failed back)
    const url = new URL(this.current.url!);
    url.hostname = String(role[1]);
    url.port = String(role[2]);
    const next: RedisSettings = { url: url.toString() };
    log.warn('store.redis_failed_over', { from: this.describe(), to: describeRedis(next), note: 'the server answers READONLY (it is a replica now); moving to its master' });
    const old = this.commandClient;
    this.current = next;
    this.commandClient = this.openCommand();
    this.generation++;
    old.disconnect();
    await new Promise<void>((resolve) => {
      if (this.commandClient.status === 'ready') return resolve();
      const timer = setTimeout(resolve, 5_000);
      this.commandClient.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.closed = true;
    this.commandClient.disconnect();
  }
}
