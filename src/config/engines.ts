/**
 * The `redis` and `store` sections: the external engines behind the cluster. `redis` is the one
 * Redis setting every Redis-backed feature reads (a server URL or a Redis Cluster's seed nodes);
 * `store` picks SHARED_STORE's engine, and `"redis"` there needs the `redis` section.
 */
import { isPlainObject } from '../core/value-kinds.js';
import { checkUnknownKeys, show } from './readers.js';
import type { RedisConfig, StoreConfig } from './types.js';

export function readRedis(value: unknown, problems: string[]): RedisConfig | undefined {
  if (!isPlainObject(value)) {
    problems.push('redis: must be an object { "url": "redis://host:6379" } or { "cluster": ["host:port", …] }');
    return undefined;
  }
  checkUnknownKeys(value, 'redis', ['url', 'cluster'], problems);
  if (value.url !== undefined && value.cluster !== undefined) {
    problems.push('redis: give either url or cluster, not both');
    return undefined;
  }
  if (value.cluster !== undefined) {
    const nodes = value.cluster;
    if (!Array.isArray(nodes) || nodes.length === 0 || nodes.some((n) => typeof n !== 'string' || !/^\[?[^\]\s]+?\]?:\d{1,5}$/.test(n))) {
      problems.push(`redis.cluster: must be a non-empty array of "host:port" strings, got ${show(nodes)}`);
      return undefined;
    }
    return { cluster: nodes as string[] };
  }
  if (typeof value.url !== 'string' || !/^rediss?:\/\//.test(value.url)) {
    problems.push(`redis.url: must be a redis:// or rediss:// URL, got ${show(value.url)}`);
    return undefined;
  }
  return { url: value.url };
}

export function readStore(value: unknown, redis: RedisConfig | undefined, problems: string[]): StoreConfig | undefined {
  if (!isPlainObject(value)) {
    problems.push('store: must be an object { "engine": "memory" | "redis" }');
    return undefined;
  }
  checkUnknownKeys(value, 'store', ['engine'], problems);
  if (value.engine !== 'memory' && value.engine !== 'redis') {
    problems.push(`store.engine: must be "memory" or "redis", got ${show(value.engine)}`);
    return undefined;
  }
  if (value.engine === 'redis' && !redis) problems.push('store.engine: "redis" needs the "redis" section ({ "url": "redis://host:6379" })');
  return { engine: value.engine };
}
