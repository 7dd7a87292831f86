/**
 * ioredis connections with the failure behaviour boxwire promises: a command never waits
 * silently while Redis is away. Each purpose gets its own connection:
 *   - 'command': writes and reads; no offline queue (a command issued while disconnected fails at
 *     once instead of being replayed later, possibly after the caller gave up), few retries;
 *   - 'blocking': XREAD BLOCK / BLPOP-style reads that may park the connection for seconds;
 *   - 'subscriber': pub/sub (a connection in subscribe mode can run nothing else).
 * All reconnect forever with capped backoff, so boxwire recovers without a restart.
 */
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { lazyModule } from '../core/lazy-module.js';
import { describeRedis, type RedisSettings } from './redis-settings.js';

export type RedisPurpose = 'command' | 'blocking' | 'subscriber';
export type RedisClient = Redis | Cluster;

/** ioredis, loaded on the first connection (an app that never uses Redis never loads it). */
const ioredis = lazyModule<typeof import('ioredis')>('ioredis');

export interface RedisConnectionOptions {
  /** Shown by `CLIENT LIST` (`boxwire:<name>`), which helps operators see who holds a connection. */
  name?: string;
  /** Per-command deadline in ms for 'command' connections (default 5,000). */
  commandTimeoutMs?: number;
  /** ioredis options that replace the purpose's defaults (e.g. the store engine turns off resending unanswered writes). */
  overrides?: RedisOptions;
}

/** Backoff between reconnect attempts: 50 ms doubling, capped at 2 s, forever. */
export function reconnectDelay(attempt: number): number {
  return Math.min(2_000, 50 * 2 ** Math.min(attempt, 6));
}

export function createRedisConnection(settings: RedisSettings, purpose: RedisPurpose, options: RedisConnectionOptions = {}): RedisClient {
  const common: RedisOptions = {
    connectionName: `boxwire:${options.name ?? purpose}`,
    retryStrategy: reconnectDelay,
    connectTimeout: 5_000,
    // A failed-over primary answers READONLY: reconnect so we reach the new primary.
    reconnectOnError: (error) => (/READONLY/.test(error.message) ? 2 : false),
    lazyConnect: false,
  };
  const perPurpose: RedisOptions =
    purpose === 'command'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: options.commandTimeoutMs ?? 5_000, autoResubscribe: false }
      : purpose === 'blocking'
        ? { enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: false }
        : { enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: true };
  if (settings.cluster) {
    const clusterOptions: ClusterOptions = {
      redisOptions: { ...common, ...perPurpose, ...options.overrides },
      clusterRetryStrategy: reconnectDelay,
      enableOfflineQueue: perPurpose.enableOfflineQueue,
      enableReadyCheck: true,
    };
    return new (ioredis().Cluster)(settings.cluster, clusterOptions);
  }
  return new (ioredis().Redis)(settings.url, { ...common, ...perPurpose, ...options.overrides });
}

/** Resolves when `client` is ready; rejects after `timeoutMs` with an error naming the server. */
export function whenRedisReady(client: RedisClient, settings: RedisSettings, timeoutMs = 5_000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`cannot reach ${describeRedis(settings)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}
