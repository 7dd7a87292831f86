/**
 * Where Redis is, for everything Redis-backed in boxwire (the Redis store engine, LOCK, QUEUE,
 * UNIQUE_ID): one setting, chosen in this order —
 *   1. `configureRedis(…)` in code (boot() calls it with the cluster config's `redis` section),
 *   2. the environment: `BOXWIRE_REDIS_URL=redis://host:port/db`, or
 *      `BOXWIRE_REDIS_CLUSTER=host:port,host:port,…` for a Redis Cluster.
 * Nothing set means "no Redis": features with an embedded default use it, the rest say so.
 */
import { ConfigError } from '../core/errors.js';

export interface RedisNode {
  host: string;
  port: number;
}

/** One Redis server (`url`) or the seed nodes of a Redis Cluster (`cluster`). */
export type RedisSettings = { url: string; cluster?: undefined } | { cluster: RedisNode[]; url?: undefined };

/** What users may pass: a URL, a settings object, or `{ cluster: ['host:port', …] }`. */
export type RedisSettingsInput = string | { url?: string; cluster?: Array<string | RedisNode> };

let configured: RedisSettings | undefined;

/** Sets this process's Redis settings (before the first Redis-backed call). */
export function configureRedis(input: RedisSettingsInput | undefined): void {
  configured = input === undefined ? undefined : parseRedisSettings(input, 'configureRedis');
}

/** This process's Redis settings, or undefined when none are configured. */
export function redisSettings(env: NodeJS.ProcessEnv = process.env): RedisSettings | undefined {
  if (configured) return configured;
  if (env.BOXWIRE_REDIS_URL) return parseRedisSettings(env.BOXWIRE_REDIS_URL, 'BOXWIRE_REDIS_URL');
  if (env.BOXWIRE_REDIS_CLUSTER) return parseRedisSettings({ cluster: env.BOXWIRE_REDIS_CLUSTER.split(',') }, 'BOXWIRE_REDIS_CLUSTER');
  return undefined;
}

/** The settings, or a ConfigError naming `feature` and how to configure Redis. */
export function requireRedisSettings(feature: string): RedisSettings {
  const settings = redisSettings();
  if (!settings) {
    throw new ConfigError(`${feature} needs Redis: set BOXWIRE_REDIS_URL=redis://host:6379 (or BOXWIRE_REDIS_CLUSTER=host:port,…), the cluster config's "redis": { "url": … }, or call configureRedis(…)`);
  }
  return settings;
}

/** A short description for logs and errors (never the password). */
export function describeRedis(settings: RedisSettings): string {
  if (settings.cluster) return `redis cluster ${settings.cluster.map((n) => `${n.host}:${n.port}`).join(',')}`;
  try {
    const url = new URL(settings.url);
    return `${url.protocol}//${url.host}${url.pathname && url.pathname !== '/' ? url.pathname : ''}`;
  } catch {
    return 'redis (unparsable url)';
  }
}

export function parseRedisSettings(input: RedisSettingsInput, source: string): RedisSettings {
  if (typeof input === 'string') return { url: checkUrl(input, source) };
  if (typeof input !== 'object' || input === null) throw new ConfigError(`${source}: Redis settings must be a redis:// URL or { url } or { cluster: ['host:port', …] }`);
  if (input.url !== undefined && input.cluster !== undefined) throw new ConfigError(`${source}: give either url or cluster, not both`);
  if (input.url !== undefined) return { url: checkUrl(input.url, source) };
  if (Array.isArray(input.cluster) && input.cluster.length > 0) return { cluster: input.cluster.map((node) => parseNode(node, source)) };
  throw new ConfigError(`${source}: Redis settings need url ("redis://host:6379") or cluster (["host:port", …])`);
}

function checkUrl(url: unknown, source: string): string {
  if (typeof url !== 'string' || !/^rediss?:\/\/[^\s]+$/.test(url)) {
    throw new ConfigError(`${source}: must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
  }
  try {
    new URL(url);
  } catch {
    throw new ConfigError(`${source}: cannot parse ${JSON.stringify(url)} as a URL`);
  }
  return url;
}

function parseNode(node: string | RedisNode, source: string): RedisNode {
  if (typeof node === 'object' && node !== null && typeof node.host === 'string' && Number.isInteger(node.port)) return { host: node.host, port: node.port };
  const match = typeof node === 'string' ? /^\[?([^\]\s]+?)\]?:(\d{1,5})$/.exec(node.trim()) : null;
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) throw new ConfigError(`${source}: cluster nodes must be "host:port", got ${JSON.stringify(node)}`);
  return { host: match[1], port };
}
