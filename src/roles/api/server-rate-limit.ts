/**
 * The HTTP call limit per client address, shared by every worker of a server (node:cluster hands
 * one client's connections to different workers, so per-worker buckets multiplied the limit by
 * the worker count).
 *
 * The master holds the one token bucket per address. A worker leases tokens from it in small
 * batches (a twentieth of a second's worth) and spends them locally, so the hot path stays a
 * Map lookup and the master sees one IPC request per batch, not one per call. The master never
 * grants more than its bucket holds, so a server answers at most `burst + rate × t` calls per
 * address, whichever workers they reach. A refused lease carries the wait until the next token:
 * the worker refuses that address locally until then, without asking again per call. Tokens a
 * worker leased but did not spend within a second are dropped (never returned), which can only
 * make the limit stricter. If the master does not answer a lease (it is stopping), the worker
 * falls back to its own bucket rather than refusing every call.
 */
import { Channel, MASTER } from '../../core/envelope.js';
import { log } from '../../core/logger.js';
import { currentEndpoint, processRole, sharedRegistries } from '../../cpu/index.js';
import type { ApiLimits } from './api-limits.js';
import { KeyedBuckets } from './rate-limit.js';
import { RoleMethods } from '../role-methods.js';

const LEASE_TTL_MS = 1000;
const LEASE_TIMEOUT_MS = 2000;

interface LeaseReply {
  granted: number;
  retryAfterMs: number;
}

/** Master side: answers the workers' lease requests from one bucket per address. */
export function serveRateLeases(limits: ApiLimits): void {
  const buckets = new KeyedBuckets(limits.callsPerSecond, limits.burst);
  sharedRegistries()[Channel.System].on(RoleMethods.rateLease, (request: { address?: unknown; want?: unknown }): LeaseReply => {
    const address = typeof request?.address === 'string' ? request.address : '';
    const want = typeof request?.want === 'number' && request.want >= 1 ? Math.floor(request.want) : 1;
    const bucket = buckets.bucketOf(address);
    const granted = bucket.takeUpTo(want);
    return { granted, retryAfterMs: granted > 0 ? 0 : bucket.msUntilToken() };
  });
}

interface Lease {
  tokens: number;
  leasedAt: number;
  deniedUntil: number;
  /** Calls waiting for this lease: the next request asks for at least that many tokens. */
  waiting: number;
  asking?: Promise<void>;
}

/** Worker side (or a solo process, which is its own master). */
export class ServerRateLimit {
  private readonly leases = new Map<string, Lease>();
  private readonly local: KeyedBuckets;
  private readonly batch: number;
  private sweptAt = Date.now();
  private masterSilent = false;

  constructor(limits: ApiLimits, private readonly shared = processRole() === 'worker') {
    this.local = new KeyedBuckets(limits.callsPerSecond, limits.burst);
    this.batch = Math.max(1, Math.min(1000, Math.ceil(limits.callsPerSecond / 20), Math.floor(limits.burst)));
  }

  /** true/false at once when this worker knows; a Promise while it asks the master for a lease. */
  take(address: string): boolean | Promise<boolean> {
    if (!this.shared || this.masterSilent) return this.local.take(address);
    const now = Date.now();
    if (now - this.sweptAt > 10_000) this.sweep(now);
    let lease = this.leases.get(address);
    if (!lease) this.leases.set(address, (lease = { tokens: 0, leasedAt: 0, deniedUntil: 0, waiting: 0 }));
    if (lease.tokens >= 1 && now - lease.leasedAt > LEASE_TTL_MS) lease.tokens = 0;
    if (lease.tokens >= 1) {
      lease.tokens--;
      return true;
    }
    if (lease.deniedUntil > now) return false;
    return this.waitForLease(address, lease);
  }

  /**
   * Waits for the master's answer; callers that arrived while it was on its way ask again if the
   * batch ran out before their turn (a burst of concurrent calls gets the burst, not one batch).
   * Ends when a token is taken or the master says the bucket is empty.
   */
  private async waitForLease(address: string, lease: Lease): Promise<boolean> {
    lease.waiting++;
    try {
      for (;;) {
        lease.asking ??= this.ask(address, lease);
        await lease.asking;
        if (this.masterSilent) return this.local.take(address);
        if (lease.tokens >= 1) {
          lease.tokens--;
          return true;
        }
        if (lease.deniedUntil > Date.now()) return false;
      }
    } finally {
      lease.waiting--;
    }
  }

  private async ask(address: string, lease: Lease): Promise<void> {
    try {
      const reply = await currentEndpoint().request<LeaseReply>({ worker: MASTER }, Channel.System, RoleMethods.rateLease, { address, want: Math.max(this.batch, lease.waiting) }, LEASE_TIMEOUT_MS);
      lease.tokens += reply.granted;
      lease.leasedAt = Date.now();
      if (reply.granted === 0) lease.deniedUntil = Date.now() + Math.max(1, reply.retryAfterMs);
    } catch (error) {
      // The master is stopping or gone: limit per worker until it answers again.
      if (!this.masterSilent) log.warn('api.rate_lease_failed', { error, note: 'limiting per worker for a while' });
      this.masterSilent = true;
      setTimeout(() => (this.masterSilent = false), 5_000).unref();
    } finally {
      lease.asking = undefined;
    }
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [address, lease] of this.leases) {
      if (!lease.asking && lease.waiting === 0 && now - lease.leasedAt > 60_000 && lease.deniedUntil < now) this.leases.delete(address);
    }
  }
}
