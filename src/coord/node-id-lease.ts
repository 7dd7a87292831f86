/**
 * This process's node id on Redis, leased for `ttlMs` and renewed every ttl/3. It may be used
 * only while the lease certainly holds: until `validUntil`, measured on the monotonic clock from
 * when the last successful renewal was sent. When renewals keep failing (Redis away), the id
 * stops being usable at that moment — fail closed — and comes back once a renewal succeeds. If
 * the id turns out to be someone else's, it stops being usable at once and a new one is leased.
 *
 * Redis losing its data (a restart without persistence) shows as a new epoch (redis-scripts.ts):
 * a renewal that finds one logs it and takes the id back if nobody took it meanwhile. Leases
 * made in an epoch's first ttl start their ids ahead of the clock (grant.guardMs + the clock
 * allowance), above anything a holder from before the loss can still make with the same id.
 */
import { performance } from 'node:perf_hooks';
import { log } from '../core/logger.js';
import type { NodeIdBackend } from './coord-backend.js';
import { jitteredBackoffMs, sleep } from './backoff-wait.js';
import { processToken } from './embedded-coordinator.js';

/**
 * How far another server's clock may be ahead of ours (twice the mesh's clock-skew warning) when
 * ids start ahead of the clock after a new epoch: that server's last ids were stamped by its clock.
 */
export const CLOCK_ALLOWANCE_MS = 1_000;

export class NodeIdLease {
  nodeId = -1;
  floorMs = 0;
  /** The node ids' epoch this lease was made (or last renewed) in. */
  epoch = '';
  private readonly token = processToken();
  private validUntil = 0;
  private timer?: NodeJS.Timeout;
  private leasing?: Promise<void>;
  private closed = false;
  lastError?: unknown;

  constructor(private readonly backend: NodeIdBackend, private readonly ttlMs: number, private readonly highWaterMs: () => number) {
    // The backend closes in a shutdown hook (or closeCoordination): the node id goes back first.
    backend.onClose(() => this.release());
  }

  /** 'ok', or why ids cannot be made right now. */
  state(): 'ok' | 'not-leased' | 'expired' {
    if (this.nodeId < 0) return 'not-leased';
    return performance.now() < this.validUntil ? 'ok' : 'expired';
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
            this.epoch = grant.epoch;
            // In a new epoch's first ttl, a holder from before a data loss may still be making ids
            // with this node id, up to its clock + ttl: start above that.
            const guardFloor = grant.guardMs > 0 ? Date.now() + grant.guardMs + CLOCK_ALLOWANCE_MS : 0;
            this.floorMs = Math.max(grant.floorMs, guardFloor);
            this.validUntil = sentAt + this.ttlMs;
            log.info('unique_id.leased', { nodeId: grant.nodeId, guardMs: grant.guardMs });
            this.scheduleRenewal();
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
      const renewal = await this.backend.nodeIdRenew(this.nodeId, this.token, this.ttlMs, highWater, this.epoch);
      if (renewal.lost) {
        log.warn('unique_id.redis_data_lost', {
          nodeId: this.nodeId, kept: renewal.renewed,
          note: 'Redis lost the node id leases (a restart without persistence?); ids stay unique: this process keeps its id if nobody took it, and new leases start their ids ahead of the clock for one ttl',
        });
      }
      this.epoch = renewal.epoch;
      if (renewal.renewed) {
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
