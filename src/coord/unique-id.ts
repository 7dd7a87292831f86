/**
 * UNIQUE_ID(): a 64-bit, time-ordered id as a decimal string (see snowflake.ts), unique across the
 * cluster.
 *
 * The node id part makes ids of different processes differ. Without Redis (one server), it is
 * the worker id — unique on the server and known at once, so UNIQUE_ID() works from the first
 * call. With Redis, each process leases a node id (0–1023) and renews it; a synchronous call
 * cannot wait for Redis, so the process leases once at start-up:
 *
 *   await UNIQUE_ID.ready();   // once, before the first UNIQUE_ID() (a no-op without Redis)
 *   const id = UNIQUE_ID();    // '5274017390602244096'
 *
 * UNIQUE_ID() called before that starts the lease and throws UniqueIdUnavailableError; so does
 * every call while the lease cannot be renewed in time (fail closed: no id rather than a
 * possible duplicate). `await UNIQUE_ID.next()` waits for the lease instead of throwing.
 */
import { ConfigError } from '../core/errors.js';
import { currentEndpoint } from '../cpu/index.js';
import { coordBackend } from './backend-choice.js';
import { checkOptions, wholeNumber } from './coord-input.js';
import { UniqueIdUnavailableError } from './coord-errors.js';
import { NodeIdLease } from './node-id-lease.js';
import type { RedisCoordinator } from './redis-coordinator.js';
import { SnowflakeGenerator, parseSnowflake } from './snowflake.js';

const generator = new SnowflakeGenerator();
/**
 * Short enough that ids stop within seconds when Redis is gone (and that ids start at most this
 * far ahead of the clock after Redis lost its data), long enough that renewals (every third) cost nothing.
 */
const DEFAULT_LEASE_TTL_MS = 5_000;
let leaseTtlMs = leaseTtlFromEnv();
let lease: NodeIdLease | undefined;
let leaseBackend: RedisCoordinator | undefined;

function leaseTtlFromEnv(): number {
  const raw = process.env.BOXWIRE_ID_LEASE_TTL_MS;
  if (raw === undefined || raw === '') return DEFAULT_LEASE_TTL_MS;
  const ttl = Number(raw);
  if (!Number.isInteger(ttl) || ttl < 300 || ttl > 3_600_000) throw new ConfigError(`BOXWIRE_ID_LEASE_TTL_MS must be a whole number of ms from 300 to 3,600,000 (got ${JSON.stringify(raw)})`);
  return ttl;
}

/** The lease of this process when Redis serves coordination; undefined for the embedded backend. */
function redisLease(): NodeIdLease | undefined {
  const backend = coordBackend('UNIQUE_ID');
  if (backend.kind !== 'redis') return undefined;
  if (!lease || leaseBackend !== backend) {
    leaseBackend = backend as RedisCoordinator;
    lease = new NodeIdLease(leaseBackend, leaseTtlMs, () => generator.lastMs);
  }
  return lease;
}

function explain(state: ReturnType<NodeIdLease['state']>, current: NodeIdLease): string {
  const cause = current.lastError ? ` (last error: ${(current.lastError as Error).message ?? current.lastError})` : '';
  if (state === 'not-leased') return `this process has no node id yet; call \`await UNIQUE_ID.ready()\` once at start-up (or use \`await UNIQUE_ID.next()\`)${cause}`;
  return `the node id lease could not be renewed with Redis in time, so no id is made rather than risk a duplicate; ids resume once Redis answers (await UNIQUE_ID.ready())${cause}`;
}

function make(...args: unknown[]): string {
  // UNIQUE_ID takes nothing: an argument (a prefix, a node id) would be silently ignored otherwise.
  if (args.length) throw new ConfigError(`UNIQUE_ID() takes no arguments (got ${args.length}); it returns the id as a string — add any prefix yourself`);
  const current = redisLease();
  if (!current) return generator.next(currentEndpoint().workerId, Date.now());
  const state = current.state();
  if (state !== 'ok') {
    void current.ready().catch(() => {});
    throw new UniqueIdUnavailableError(explain(state, current));
  }
  return generator.next(current.nodeId, Date.now(), current.floorMs);
}

export const UNIQUE_ID = Object.assign(make as () => string, {
  /** Resolves once UNIQUE_ID() can make ids in this process (leases a node id on Redis). */
  async ready(): Promise<void> {
    await redisLease()?.ready();
  },
  /** Waits for a usable node id if needed, then makes an id. */
  async next(): Promise<string> {
    for (;;) {
      await UNIQUE_ID.ready();
      try {
        return make();
      } catch (error) {
        if (!(error instanceof UniqueIdUnavailableError)) throw error;
      }
    }
  },
  /** The time, node id and sequence inside an id. */
  parse: parseSnowflake,
  /** Sets the node id lease ttl (default 5,000 ms, or env BOXWIRE_ID_LEASE_TTL_MS) before the first use. */
  configure(options: { leaseTtlMs?: number }): void {
    const where = 'UNIQUE_ID.configure(options)';
    if (options === undefined || options === null) throw new ConfigError(`${where}: options must be an object { leaseTtlMs? }`);
    const checked = checkOptions(where, options, ['leaseTtlMs'] as const);
    const ttl = wholeNumber(where, 'leaseTtlMs', checked.leaseTtlMs, 300, 3_600_000, leaseTtlMs);
    if (lease) throw new ConfigError('UNIQUE_ID.configure must be called before the first UNIQUE_ID use');
    leaseTtlMs = ttl;
  },
});
