/**
 * A held lock: its fence and an AbortSignal that fires when the lock can no longer be trusted.
 * The lease renews itself every ttl/3 while `fn` runs. If Redis says the lock is someone else's
 * now, or no renewal succeeds before the lease would run out (measured on this process's
 * monotonic clock from when the last successful renewal was *sent*), the signal aborts with a
 * LockLostError.
 */
import { performance } from 'node:perf_hooks';
import { log } from '../core/logger.js';
import type { CoordBackend } from './coord-backend.js';
import { LockLostError } from './coord-errors.js';

export interface Lease {
  /** The lock name. */
  readonly name: string;
  /** Strictly increasing per lock name across the cluster: pass it to the resource you protect. */
  readonly fence: number;
  /** Aborts when the lock was lost (renewal failed); `signal.reason` is a LockLostError. */
  readonly signal: AbortSignal;
}

export class RenewingLease implements Lease {
  /** Made on first use of `signal` (an AbortController costs more than the rest of a lock round trip). */
  private controller?: AbortController;
  private lost?: LockLostError;
  private timer?: NodeJS.Timeout;
  private validUntil: number;
  private stopped = false;

  constructor(
    private readonly backend: CoordBackend,
    readonly name: string,
    private readonly token: string,
    readonly fence: number,
    private readonly ttlMs: number,
    acquiredAt: number,
  ) {
    this.validUntil = acquiredAt + ttlMs;
    this.schedule(Math.max(1, Math.floor(ttlMs / 3)));
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.lost) this.controller.abort(this.lost);
    }
    return this.controller.signal;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.lost) return;
    const left = this.validUntil - performance.now();
    this.timer = setTimeout(() => void this.renew(), Math.max(0, Math.min(delayMs, left)));
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    if (performance.now() >= this.validUntil) return this.lose('the lease ran out before a renewal succeeded');
    const sentAt = performance.now();
    let renewed: boolean;
    try {
      renewed = await this.backend.lockRenew(this.name, this.token, this.ttlMs);
    } catch (error) {
      log.warn('lock.renew_failed', { lock: this.name, error });
      // Try again soon, while the lease still holds.
      this.schedule(Math.max(50, Math.floor(this.ttlMs / 10)));
      return;
    }
    if (this.stopped) return;
    if (!renewed) return this.lose('the lock expired or was taken over before it was renewed');
    this.validUntil = sentAt + this.ttlMs;
    this.schedule(Math.floor(this.ttlMs / 3));
  }

  private lose(detail: string): void {
    if (this.stopped || this.lost) return;
    log.warn('lock.lost', { lock: this.name, fence: this.fence, detail });
    this.lost = new LockLostError(this.name, detail);
    this.controller?.abort(this.lost);
  }

  /** Stops renewing; releases the lock if we still hold it. */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    try {
      await this.backend.lockRelease(this.name, this.token);
    } catch (error) {
      // It expires on its own within the ttl.
      log.warn('lock.release_failed', { lock: this.name, error });
    }
  }
}
