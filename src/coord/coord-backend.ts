/**
 * What LOCK, QUEUE and UNIQUE_ID need from a place that every process of the cluster shares.
 * Two implementations: Redis (any number of servers) and the embedded one (one server: its master
 * keeps the state in memory; workers reach it by messages). The client logic above this contract
 * — waiting, renewal, consumer loops, id generation — is the same for both.
 */

export type LockAttempt = { fence: number } | { busyForMs: number };

export interface PushOptions {
  delayMs: number;
  attempts: number;
  backoffMs: number;
}

export interface ClaimedJob {
  id: string;
  data: unknown;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  attempts: number;
  /** Names this claim: acknowledgements with a stale token (the job was taken over) are ignored. */
  token: string;
}

export interface ClaimResult {
  jobs: ClaimedJob[];
  /** Ms until a delayed job is due or a running job's visibility timeout ends (-1: none). */
  nextDueMs: number;
}

export interface QueueCounts {
  waiting: number;
  delayed: number;
  active: number;
  completed: number;
  failed: number;
}

export interface FailedJob {
  id: string;
  data: unknown;
  attemptsMade: number;
  error: string;
}

export interface NodeIdGrant {
  nodeId: number;
  /** Ids must use timestamps above this (the previous holder's high-water mark). */
  floorMs: number;
  /** Wait this long before using the id (after a data loss, earlier holders may still use theirs). */
  waitMs: number;
}

export interface CoordBackend {
  readonly kind: 'redis' | 'embedded';
  lockAcquire(name: string, token: string, ttlMs: number): Promise<LockAttempt>;
  lockRenew(name: string, token: string, ttlMs: number): Promise<boolean>;
  lockRelease(name: string, token: string): Promise<boolean>;
  /** Resolves when `name` may have been released, or after `maxMs`. */
  lockWait(name: string, maxMs: number): Promise<void>;

  queuePush(queue: string, data: unknown, options: PushOptions): Promise<string>;
  queueClaim(queue: string, owner: string, visibilityMs: number, max: number): Promise<ClaimResult>;
  /** Extends the claims still held; returns the ids whose claim was lost. */
  queueExtend(queue: string, claims: Array<[id: string, token: string]>, visibilityMs: number): Promise<string[]>;
  queueComplete(queue: string, id: string, token: string): Promise<boolean>;
  queueFail(queue: string, id: string, token: string, error: string): Promise<'retrying' | 'failed' | 'stale'>;
  queueCounts(queue: string): Promise<QueueCounts>;
  queueFailed(queue: string, limit: number): Promise<FailedJob[]>;
  queueRetryFailed(queue: string): Promise<number>;
  /** Resolves when a job may have been pushed to `queue`, or after `maxMs`. */
  queueWait(queue: string, maxMs: number): Promise<void>;
}

/** Node id leases for UNIQUE_ID (Redis only: the embedded backend uses worker ids, which are unique on one server). */
export interface NodeIdBackend {
  /** A node id for UNIQUE_ID, or undefined when every id is taken. */
  nodeIdLease(token: string, ttlMs: number): Promise<NodeIdGrant | undefined>;
  /** False when the id is now held by someone else. `lastMs`: the highest timestamp used so far. */
  nodeIdRenew(nodeId: number, token: string, ttlMs: number, highWaterMs: number): Promise<boolean>;
  nodeIdRelease(nodeId: number, token: string, highWaterMs: number): Promise<void>;
  /** Runs `listener` when the backend closes, before its connections go (to release the node id). */
  onClose(listener: () => Promise<void>): void;
}

/** Fences strictly increase and, being at least the clock in ms × 1000, keep increasing after the counter is lost. */
export const FENCE_CLOCK_FACTOR = 1000;

/** Node ids are 10 bits. */
export const NODE_ID_COUNT = 1024;
