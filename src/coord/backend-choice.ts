/**
 * Which backend serves LOCK, QUEUE and UNIQUE_ID in this process: Redis when it is configured
 * (BOXWIRE_REDIS_URL, the config's `redis`, configureRedis), else the embedded one — which only
 * coordinates the processes of one server, so a cluster of several servers without Redis is
 * refused with a ConfigError on first use rather than silently giving each server its own locks.
 */
import { onShutdown } from '../cpu/index.js';
import { redisSettings, requireRedisSettings } from '../redis/redis-settings.js';
import { SERVER_CLUSTERING } from '../server/server-clustering.js';
import type { CoordBackend } from './coord-backend.js';
import { embeddedBackend } from './embedded-node.js';
import { RedisCoordinator } from './redis-coordinator.js';
import { stopAllConsumers } from './running-consumers.js';

let redis: RedisCoordinator | undefined;

function serverCount(): number {
  if (SERVER_CLUSTERING.getThisServerName() === undefined) return 1; // not configured: one server
  try {
    return Object.keys(SERVER_CLUSTERING.getHosts()).length;
  } catch {
    return 1; // SERVER_CLUSTERING is not configured: one server
  }
}

/** The backend for `feature` (named in the error when Redis is missing on a multi-server cluster). */
export function coordBackend(feature: string): CoordBackend {
  if (redis) return redis;
  const settings = redisSettings();
  if (settings) {
    redis = new RedisCoordinator(settings);
    const coordinator = redis;
    onShutdown(async () => {
      // Hooks run in reverse order: consumers and locks registered later have finished by now.
      if (redis === coordinator) redis = undefined;
      await coordinator.close();
    });
    return redis;
  }
  if (serverCount() > 1) requireRedisSettings(`${feature} on a cluster of ${serverCount()} servers`);
  return embeddedBackend();
}

/**
 * Ends this process's coordination work so it can exit on its own (a script, a test, a CLI
 * command): stops every queue consumer of the process (no new claims; running jobs finish and
 * are acknowledged), releases the UNIQUE_ID node id and closes the Redis connections. A graceful
 * shutdown (SIGTERM, `CPU_CLUSTERING` stop) does the same through its hooks. Safe to call more
 * than once; a LOCK / QUEUE / UNIQUE_ID call made afterwards starts afresh (new connections).
 * Call it once your LOCK calls have settled: a lease still running loses its renewals.
 */
export async function closeCoordination(): Promise<void> {
  await stopAllConsumers();
  const current = redis;
  redis = undefined;
  await current?.close();
}
