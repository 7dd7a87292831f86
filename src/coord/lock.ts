/**
 * LOCK(name, { ttlMs, waitMs }, fn): runs `fn` while holding the named lock cluster-wide and
 * resolves to its result.
 *
 * On Redis it is one key set with `SET NX PX` to a random token and released by compare-and-delete
 * (a Lua script), not Redlock: Redlock's majority of independent Redis servers still gives no
 * safety under process pauses or clock jumps (the lease can run out while the holder runs), and a
 * lock that can be lost needs a fencing token anyway; with fencing, one Redis (with a replica for
 * availability) gives the same safety at a fraction of the cost and without Redlock's "quorum"
 * errors under contention. See docs/coordination.md.
 */
import { performance } from 'node:perf_hooks';
import { ConfigError } from '../core/errors.js';
import { log } from '../core/logger.js';
import { coordBackend } from './backend-choice.js';
import { jitteredBackoffMs, sleep } from './backoff-wait.js';
import { checkName, checkOptions, wholeNumber } from './coord-input.js';
import { LockBusyError } from './coord-errors.js';
import { processToken } from './embedded-coordinator.js';
import { RenewingLease, type Lease } from './lease.js';

export type { Lease } from './lease.js';

export interface LockOptions {
  /** How long the lock outlives its holder if the holder dies (it is renewed while fn runs). Default 30,000. */
  ttlMs?: number;
  /** How long to wait for the lock before rejecting with LockBusyError. Default 10,000; 0 tries once. */
  waitMs?: number;
}

const DEFAULT_TTL_MS = 30_000;
const DEFAULT_WAIT_MS = 10_000;
/** Longest sleep between two attempts when no release wakes the waiter (a missed wake-up costs at most this). */
const MAX_POLL_MS = 250;

function lockOptions(input: unknown): { ttlMs: number; waitMs: number } {
  const options = checkOptions('LOCK(name, options, fn)', input, ['ttlMs', 'waitMs'] as const);
  return {
    ttlMs: wholeNumber('LOCK', 'ttlMs', options.ttlMs, 30, 86_400_000, DEFAULT_TTL_MS),
    waitMs: wholeNumber('LOCK', 'waitMs', options.waitMs, 0, 86_400_000, DEFAULT_WAIT_MS),
  };
}

export function LOCK<T>(name: string, fn: (lease: Lease) => T | Promise<T>): Promise<T>;
export function LOCK<T>(name: string, options: LockOptions, fn: (lease: Lease) => T | Promise<T>): Promise<T>;
export async function LOCK<T>(name: string, optionsOrFn: LockOptions | ((lease: Lease) => T | Promise<T>), maybeFn?: (lease: Lease) => T | Promise<T>): Promise<T> {
  const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn;
  checkName('LOCK', name);
  if (typeof fn !== 'function') throw new ConfigError('LOCK(name, options?, fn): fn must be a function');
  const { ttlMs, waitMs } = lockOptions(typeof optionsOrFn === 'function' ? undefined : optionsOrFn);
  const backend = coordBackend('LOCK');
  const token = processToken();
  const deadline = performance.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    const sentAt = performance.now();
    let result: Awaited<ReturnType<typeof backend.lockAcquire>>;
    try {
      result = await backend.lockAcquire(name, token, ttlMs);
    } catch (error) {
      // Redis away (restarting, failing over): keep trying while the wait lasts, then say why.
      // A ConfigError (coordination closed, bad setup) will not get better by waiting.
      const left = deadline - performance.now();
      if (left <= 0 || error instanceof ConfigError) throw error;
      log.debug('lock.acquire_failed', { lock: name, error });
      await sleep(Math.min(left, jitteredBackoffMs(attempt, 25, 500)));
      continue;
    }
    if ('fence' in result) {
      const lease = new RenewingLease(backend, name, token, result.fence, ttlMs, sentAt);
      try {
        return await fn(lease);
      } finally {
        await lease.release();
      }
    }
    const left = deadline - performance.now();
    if (left <= 0) throw new LockBusyError(name, waitMs);
    // Sleep until a release wakes us (pub/sub, or the master), the holder's ttl runs out, or a
    // jittered poll interval passes — never a busy loop on Redis.
    const pause = Math.min(left, Math.max(1, result.busyForMs), jitteredBackoffMs(attempt, 10, MAX_POLL_MS));
    await backend.lockWait(name, pause);
  }
}
