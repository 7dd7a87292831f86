/**
 * Which engine serves SHARED_STORE in this process, chosen before the first store call:
 *   1. `SHARED_STORE.configure({ engine: 'redis', redis: 'redis://host:6379' })` in code,
 *      or the cluster config's `"store": { "engine": "redis" }` (boot() passes it here);
 *   2. the environment: `BOXWIRE_STORE_ENGINE=redis` (with `BOXWIRE_REDIS_URL` / `BOXWIRE_REDIS_CLUSTER`);
 *   3. otherwise the in-memory replicated engine (no external service).
 * Redis itself is found through the shared Redis settings (src/redis/redis-settings.ts) unless
 * `configure` names it.
 */
import { ConfigError } from '../../core/errors.js';
import { parseRedisSettings, redisSettings, requireRedisSettings, type RedisSettings, type RedisSettingsInput } from '../../redis/redis-settings.js';

export type StoreEngineName = 'memory' | 'redis';

export interface StoreEngineOptions {
  /** 'memory' (default) or 'redis'. */
  engine?: StoreEngineName;
  /** Where Redis is (default: the shared Redis settings: configureRedis, BOXWIRE_REDIS_URL, the config's `redis`). */
  redis?: RedisSettingsInput;
  /** Redis engine: feed entries kept per store (about; default 10,000, BOXWIRE_STORE_FEED_LENGTH). A process away for longer reloads the store. */
  feedLength?: number;
  /**
   * Redis engine: slot groups per store (1–256; default 1 on a single Redis server, 16 on a Redis
   * Cluster, BOXWIRE_STORE_SLOT_GROUPS). Every process must use the same number (docs/store-redis.md).
   */
  slotGroups?: number;
}

export interface ChosenStoreEngine {
  engine: StoreEngineName;
  redis?: RedisSettings;
  feedLength: number;
  /** Set only when configured (the engine's default depends on single server vs cluster). */
  slotGroups?: number;
}

const chosen: { engine?: StoreEngineName; redis?: RedisSettings; feedLength?: number; slotGroups?: number } = {};

export const STORE_ENGINE_KEYS = ['engine', 'redis', 'feedLength', 'slotGroups'] as const;

const MAX_SLOT_GROUPS = 256;

function checkSlotGroups(value: unknown, source: string): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_SLOT_GROUPS) throw new ConfigError(`${source}: slot groups per store must be an integer from 1 to ${MAX_SLOT_GROUPS}, got ${JSON.stringify(value)}`);
  return value as number;
}

export function chooseStoreEngine(options: StoreEngineOptions): void {
  if (options.engine !== undefined) chosen.engine = checkEngine(options.engine, 'SHARED_STORE.configure({ engine })');
  if (options.redis !== undefined) chosen.redis = parseRedisSettings(options.redis, 'SHARED_STORE.configure({ redis })');
  if (options.feedLength !== undefined) {
    if (!Number.isInteger(options.feedLength) || options.feedLength < 100) throw new ConfigError(`SHARED_STORE.configure({ feedLength }): must be an integer ≥ 100, got ${String(options.feedLength)}`);
    chosen.feedLength = options.feedLength;
  }
  if (options.slotGroups !== undefined) chosen.slotGroups = checkSlotGroups(options.slotGroups, 'SHARED_STORE.configure({ slotGroups })');
}

/** The engine this process will use (reads the environment for what code did not set). */
export function chosenStoreEngine(env: NodeJS.ProcessEnv = process.env): ChosenStoreEngine {
  const engine = chosen.engine ?? (env.BOXWIRE_STORE_ENGINE ? checkEngine(env.BOXWIRE_STORE_ENGINE, 'BOXWIRE_STORE_ENGINE') : 'memory');
  const feedLength = chosen.feedLength ?? (env.BOXWIRE_STORE_FEED_LENGTH ? Number(env.BOXWIRE_STORE_FEED_LENGTH) : 10_000);
  if (!Number.isInteger(feedLength) || feedLength < 100) throw new ConfigError(`BOXWIRE_STORE_FEED_LENGTH must be an integer ≥ 100, got '${env.BOXWIRE_STORE_FEED_LENGTH}'`);
  if (engine === 'memory') return { engine, feedLength };
  const redis = chosen.redis ?? redisSettings(env) ?? requireRedisSettings("SHARED_STORE with engine 'redis'");
  const slotGroups = chosen.slotGroups ?? (env.BOXWIRE_STORE_SLOT_GROUPS ? checkSlotGroups(Number(env.BOXWIRE_STORE_SLOT_GROUPS), 'BOXWIRE_STORE_SLOT_GROUPS') : undefined);
  return slotGroups === undefined ? { engine, feedLength, redis } : { engine, feedLength, redis, slotGroups };
}

function checkEngine(value: unknown, source: string): StoreEngineName {
  if (value !== 'memory' && value !== 'redis') throw new ConfigError(`${source}: the store engine is 'memory' or 'redis', got ${JSON.stringify(value)}`);
  return value;
}
