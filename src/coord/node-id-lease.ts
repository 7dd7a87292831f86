/**
 * This process's node id on Redis, leased for `ttlMs` and renewed every ttl/3. It may be used
 * only while the lease certainly holds: until `validUntil`, measured on the monotonic clock from
 * when the last successful renewal was sent. When renewals keep failing (Redis away), the id
 * stops being usable at that moment — fail closed — and comes back once a renewal succeeds. If
 * the id turns out to be someone else's, a new one is leased.
 */
import { performance } from 'node:perf_hooks';
import { log } from '../core/logger.js';
import type { NodeIdBackend } from './coord-backend.js';
import { jitteredBackoffMs, sleep } from './backoff-wait.js';
import { processToken } from './embedded-coordinator.js';

export class NodeIdLease {
  nodeId = -1;
  floorMs = 0;
  private readonly token = processToken();
  private validUntil = 0;
  private usableFrom = 0;
  private timer?: NodeJS.Timeout;
  private leasing?: Promise<void>;
  private closed = false;
  lastError?: unknown;

  constructor(private readonly backend: NodeIdBackend, private readonly ttlMs: number, private readonly highWaterMs: () => number) {
    // The backend closes in a shutdown hook (or closeCoordination): the node id goes back first.
    backend.onClose(() => this.release());
  }

  /** 'ok', or why ids cannot be made right now. */
  state(): 'ok' | 'not-leased' | 'waiting' | 'expired' {
    if (this.nodeId < 0) return 'not-leased';
    const now = performance.now();
    if (now < this.usableFrom) return 'waiting';
    return now < this.validUntil ? 'ok' : 'expired';
  }

  /** Resolves once the id is usable (leasing it first if needed); retries while Redis is away. */
  ready(): Promise<void> {
    if (this.state() === 'ok') return Promise.resolve();
    return (this.leasing ??= this.acquire().finally(() => (this.leasing = undefined)));
  }

  private async acquire(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      if (this.nodeId >= 0) {
        if (await this.renew()) return;
      } else {
        try {
          const sentAt = performance.now();
          const grant = await this.backend.nodeIdLease(this.token, this.ttlMs);
          if (grant) {
            this.nodeId = grant.nodeId;
            this.floorMs = grant.floorMs;
            this.validUntil = sentAt + this.ttlMs;
            this.usableFrom = performance.now() + grant.waitMs;
            log.info('unique_id.leased', { nodeId: grant.nodeId, waitMs: grant.waitMs });
            this.scheduleRenewal();
            if (grant.waitMs > 0) await sleep(grant.waitMs);
            return;
          }
          this.lastError = new Error('all 1,024 node ids are leased');
        } catch (error) {
          this.lastError = error;
        }
      }
      await sleep(jitteredBackoffMs(attempt, 50, 1_000));
    }
  }

  private scheduleRenewal(delayMs = Math.floor(this.ttlMs / 3)): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => void this.renewOnTimer(), delayMs);
    this.timer.unref();
  }

  private async renewOnTimer(): Promise<void> {
    if (await this.renew()) this.scheduleRenewal();
    else if (this.nodeId >= 0) this.scheduleRenewal(Math.max(50, Math.floor(this.ttlMs / 10)));
    else void this.ready().catch(() => {});
  }

  /** True when renewed; on "someone else holds it" forgets the id (a new one is leased next). */
  private async renew(): Promise<boolean> {
    const sentAt = performance.now();
    try {
      // The highest timestamp this process may use before the next renewal: the newcomer that gets
      // this id after us starts above it, even if our clock was ahead of theirs.
      const highWater = Math.max(this.highWaterMs(), Date.now()) + this.ttlMs;
      if (await this.backend.nodeIdRenew(this.nodeId, this.token, this.ttlMs, highWater)) {
        this.validUntil = Math.max(this.validUntil, sentAt + this.ttlMs);
        this.lastError = undefined;
        return true;
      }
      log.warn('unique_id.lease_lost', { nodeId: this.nodeId, note: 'another process holds this node id now; leasing a new one' });
      this.nodeId = -1;
      this.validUntil = 0;
      this.lastError = new Error('the node id lease was taken over');
      return false;
    } catch (error) {
      this.lastError = error;
      if (this.state() === 'expired') log.warn('unique_id.lease_expired', { nodeId: this.nodeId, error });
      return false;
    }
  }

  async release(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.nodeId < 0) return;
    const nodeId = this.nodeId;
    this.nodeId = -1;
    try {
      await this.backend.nodeIdRelease(nodeId, this.token, this.highWaterMs());
    } catch (error) {
      log.debug('unique_id.release_failed', { nodeId, error });
    }
  }
}
