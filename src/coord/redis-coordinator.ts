/**
 * The Redis backend: locks, queues and node ids for any number of servers. One command connection
 * per process (no offline queue: a call made while Redis is away fails at once and the caller
 * retries or reports it) and one subscriber connection for wake-ups (a lock released, a job
 * pushed), so waiters sleep instead of polling Redis.
 */
import { randomUUID } from 'node:crypto';
import { log } from '../core/logger.js';
import { createRedisConnection, whenRedisReady, type RedisClient } from '../redis/redis-connection.js';
import type { RedisSettings } from '../redis/redis-settings.js';
import { FENCE_CLOCK_FACTOR, NODE_ID_COUNT, type ClaimResult, type CoordBackend, type StoredFailedJob, type LockAttempt, type NodeIdBackend, type NodeIdGrant, type NodeIdRenewal, type PushOptions, type QueueCounts } from './coord-backend.js';
import { ConfigError } from '../core/errors.js';
import { redisKeyPart } from './coord-input.js';
import { FENCE_KEEP_MS, scripts, type ScriptName } from './redis-scripts.js';
import { WakeList } from './wake-list.js';

const LOCK_RELEASED = 'boxwire:coord:lock-released';
const QUEUE_PUSHED = 'boxwire:coord:queue-pushed';
const NODE_IDS = 'boxwire:{node-ids}:';
const HIGH_WATER_KEEP_MS = 7 * 86_400_000;
const MAX_BACKOFF_MS = 86_400_000;
/** How long a failed attempt marks a lock as waited for; waiters retry well within it (≤ 250 ms). */
const WAITERS_MARK_MS = 5_000;
/** How long a call waits for a (re)connecting Redis before it fails. */
const READY_WAIT_MS = 3_000;

type ScriptCall = (...args: Array<string | number | Buffer>) => Promise<any>;

/** Tells two epochs made in the same Redis millisecond apart. */
function epochRandom(): string {
  return randomUUID().slice(0, 8);
}

function lockKeys(name: string): [lock: string, fence: string, waiters: string] {
  const tag = `{${redisKeyPart(name)}}`;
  return [`boxwire:lock:${tag}`, `boxwire:lock:${tag}:fence`, `boxwire:lock:${tag}:waiters`];
}

function queueKeys(name: string) {
  const prefix = `boxwire:q:{${redisKeyPart(name)}}:`;
  return { prefix, wait: prefix + 'wait', delayed: prefix + 'delayed', active: prefix + 'active', failed: prefix + 'failed', done: prefix + 'done', seq: prefix + 'seq' };
}

export class RedisCoordinator implements CoordBackend, NodeIdBackend {
  readonly kind = 'redis' as const;
  private readonly command: RedisClient;
  private subscriber?: RedisClient;
  private readonly lockWaiters = new WakeList();
  private readonly queueWaiters = new WakeList();
  private readonly closeListeners: Array<() => Promise<void>> = [];
  /** Names this process in wake-up messages, so it skips its own (it woke its waiters already). */
  private readonly sender = randomUUID().slice(0, 8);
  private closed = false;

  constructor(private readonly settings: RedisSettings) {
    this.command = createRedisConnection(settings, 'command', { name: 'coord' });
    this.command.on('error', (error) => log.debug('coord.redis_error', { error }));
    for (const [name, script] of Object.entries(scripts)) this.command.defineCommand(name, script);
  }

  /**
   * A script call that first waits (a bounded time) for the connection to be ready: at start-up and
   * while ioredis reconnects, a call waits a moment instead of failing at once; if Redis stays
   * away the call fails with an error naming it.
   */
  private script(name: ScriptName, buffers = false): ScriptCall {
    const client = this.command as unknown as Record<string, ScriptCall>;
    const call = client[buffers ? `${name}Buffer` : name].bind(client);
    return async (...args) => {
      if (this.closed) throw new ConfigError('coordination on Redis was closed in this process (closeCoordination() or a graceful shutdown); a LOCK / QUEUE / UNIQUE_ID call made after that opens new connections');
      if (this.command.status !== 'ready') await whenRedisReady(this.command, this.settings, READY_WAIT_MS);
      return call(...args);
    };
  }

  /** The subscriber connects on the first wait; a message wakes this process's waiters for that name. */
  private subscribe(): void {
    if (this.subscriber) return;
    const subscriber = (this.subscriber = createRedisConnection(this.settings, 'subscriber', { name: 'coord-wake' }));
    subscriber.on('error', (error) => log.debug('coord.redis_error', { error }));
    subscriber.on('message', (channel: string, message: string) => {
      // `<sender>:<name>`; this process woke its own waiters when it sent it.
      const at = message.indexOf(':');
      if (at < 0 || message.slice(0, at) === this.sender) return;
      const name = message.slice(at + 1);
      if (channel === LOCK_RELEASED) this.lockWaiters.wake(name);
      else if (channel === QUEUE_PUSHED) this.queueWaiters.wake(name);
    });
    subscriber.subscribe(LOCK_RELEASED, QUEUE_PUSHED).catch((error: unknown) => log.debug('coord.subscribe_failed', { error }));
  }

  onClose(listener: () => Promise<void>): void {
    this.closeListeners.push(listener);
  }

  private wakeMessage(name: string): string {
    return `${this.sender}:${name}`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // The listeners (the node id release) still talk to Redis; calls after them fail at once.
    await Promise.allSettled(this.closeListeners.map((listener) => listener()));
    this.closed = true;
    this.lockWaiters.wakeAll();
    this.queueWaiters.wakeAll();
    await Promise.allSettled([this.command.quit(), this.subscriber?.quit()]);
  }

  // ---- locks -------------------------------------------------------------------------------

  async lockAcquire(name: string, token: string, ttlMs: number): Promise<LockAttempt> {
    const [got, value] = (await this.script('bwLockAcquire')(...lockKeys(name), token, ttlMs, FENCE_KEEP_MS, FENCE_CLOCK_FACTOR, WAITERS_MARK_MS)) as [number, string | number];
    return got === 1 ? { fence: Number(value) } : { busyForMs: Math.max(0, Number(value)) };
  }

  async lockRenew(name: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.script('bwLockRenew')(lockKeys(name)[0], token, ttlMs)) === 1;
  }

  async lockRelease(name: string, token: string): Promise<boolean> {
    const [lock, , waiters] = lockKeys(name);
    const released = this.script('bwLockRelease')(lock, waiters, token, LOCK_RELEASED, this.wakeMessage(name));
    // The longest waiter in this process retries at once: its SET NX goes out on the same
    // connection right behind this release, so Redis runs it after the release, a round trip
    // earlier than a pub/sub wake-up (which still wakes the other processes). Waking one, not all,
    // spares the others a failed attempt each; they wait for the next release.
    this.lockWaiters.wakeOne(name);
    return (await released) === 1;
  }

  lockWait(name: string, maxMs: number): Promise<void> {
    this.subscribe();
    return this.lockWaiters.wait(name, maxMs);
  }

  // ---- queues ------------------------------------------------------------------------------

  async queuePush(name: string, payload: Uint8Array, options: PushOptions): Promise<string> {
    const k = queueKeys(name);
    const id = await this.script('bwQueuePush')(k.wait, k.delayed, k.seq, k.prefix, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), options.attempts, options.backoffMs, options.delayMs, QUEUE_PUSHED, this.wakeMessage(name));
    this.queueWaiters.wake(name);
    return String(id);
  }

  async queueClaim(name: string, owner: string, visibilityMs: number, max: number): Promise<ClaimResult> {
    const k = queueKeys(name);
    const [rows, nextDue] = (await this.script('bwQueueClaim', true)(k.wait, k.delayed, k.active, k.failed, k.prefix, owner, visibilityMs, max)) as [Buffer[][], number];
    return {
      jobs: rows.map(([id, data, attempt, attempts, token]) => ({ id: id.toString(), payload: data, attempt: Number(attempt), attempts: Number(attempts.toString()), token: token.toString() })),
      nextDueMs: Number(nextDue),
    };
  }

  async queueExtend(name: string, claims: Array<[string, string]>, visibilityMs: number): Promise<string[]> {
    if (!claims.length) return [];
    const k = queueKeys(name);
    return (await this.script('bwQueueExtend')(k.active, k.prefix, visibilityMs, ...claims.flat())) as string[];
  }

  async queueComplete(name: string, id: string, _token: string): Promise<boolean> {
    const k = queueKeys(name);
    return (await this.script('bwQueueComplete')(k.wait, k.delayed, k.active, k.failed, k.done, k.prefix, id)) === 1;
  }

  async queueFail(name: string, id: string, token: string, error: string): Promise<'retrying' | 'failed' | 'stale'> {
    const k = queueKeys(name);
    return this.script('bwQueueFail')(k.delayed, k.active, k.failed, k.prefix, id, token, error.slice(0, 4_000), MAX_BACKOFF_MS);
  }

  async queueCounts(name: string): Promise<QueueCounts> {
    const k = queueKeys(name);
    const [waiting, delayed, active, completed, failed] = (await this.script('bwQueueCounts')(k.wait, k.delayed, k.active, k.done, k.failed)) as number[];
    return { waiting, delayed, active, completed, failed };
  }

  async queueFailed(name: string, limit: number): Promise<StoredFailedJob[]> {
    const k = queueKeys(name);
    const rows = (await this.script('bwQueueFailed', true)(k.failed, k.prefix, limit)) as Buffer[][];
    return rows.map(([id, data, made, error]) => ({ id: id.toString(), payload: data ?? undefined, attemptsMade: Number(made?.toString() ?? 0), error: error?.toString() ?? '' }));
  }

  async queueRetryFailed(name: string): Promise<number> {
    const k = queueKeys(name);
    const count = await this.script('bwQueueRetryFailed')(k.failed, k.wait, k.prefix, QUEUE_PUSHED, this.wakeMessage(name));
    this.queueWaiters.wake(name);
    return count;
  }

  queueWait(name: string, maxMs: number): Promise<void> {
    this.subscribe();
    return this.queueWaiters.wait(name, maxMs);
  }

  // ---- node ids ----------------------------------------------------------------------------

  async nodeIdLease(token: string, ttlMs: number, start = Math.floor(Math.random() * NODE_ID_COUNT)): Promise<NodeIdGrant | undefined> {
    const [nodeId, highWater, guardMs, epoch] = (await this.script('bwNodeIdLease')(NODE_IDS + 'epoch', NODE_IDS, token, ttlMs, start, NODE_ID_COUNT, epochRandom())) as [number, string, number, string];
    if (nodeId < 0) return undefined;
    return { nodeId, floorMs: Number(highWater) + 1, guardMs: Number(guardMs), epoch };
  }

  async nodeIdRenew(nodeId: number, token: string, ttlMs: number, highWaterMs: number, epoch: string): Promise<NodeIdRenewal> {
    const [renewed, current, lost] = (await this.script('bwNodeIdRenew')(NODE_IDS + 'epoch', NODE_IDS, nodeId, token, ttlMs, highWaterMs, HIGH_WATER_KEEP_MS, epoch, epochRandom())) as [number, string, number];
    return { renewed: renewed === 1, epoch: current, lost: lost === 1 };
  }

  async nodeIdRelease(nodeId: number, token: string, highWaterMs: number): Promise<void> {
    await this.script('bwNodeIdRelease')(NODE_IDS + 'epoch', NODE_IDS, nodeId, token, highWaterMs, HIGH_WATER_KEEP_MS);
  }
}
