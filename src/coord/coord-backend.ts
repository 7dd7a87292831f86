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
  /** The job data as pushed: msgpack bytes (coord-input.ts encodeJobData); the consumer decodes them. */
  payload: Uint8Array;
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

export interface StoredFailedJob {
  id: string;
  payload: Uint8Array | undefined;
  attemptsMade: number;
  error: string;
}

export interface NodeIdGrant {
  nodeId: number;
  /** Ids must use timestamps above this (the previous holder's high-water mark). */
  floorMs: number;
  /**
   * Left of the first lease ttl after the node ids' epoch was made (0 after that): a Redis that is
   * new or lost its data cannot tell which, and a holder from before a loss may still be making
   * ids for that long, so the new holder starts its ids this far ahead of its clock.
   */
  guardMs: number;
  /** The epoch the lease was made in (renewals pass it back to notice a data loss). */
  epoch: string;
}

export interface NodeIdRenewal {
  /** False when the id is now held by someone else. */
  renewed: boolean;
  /** The epoch Redis has now. */
  epoch: string;
  /** Redis lost its data since the lease (the epoch changed). */
  lost: boolean;
}

export interface CoordBackend {
  readonly kind: 'redis' | 'embedded';
  lockAcquire(name: string, token: string, ttlMs: number): Promise<LockAttempt>;
  lockRenew(name: string, token: string, ttlMs: number): Promise<boolean>;
  lockRelease(name: string, token: string): Promise<boolean>;
  /** Resolves when `name` may have been released, or after `maxMs`. */
  lockWait(name: string, maxMs: number): Promise<void>;

  queuePush(queue: string, payload: Uint8Array, options: PushOptions): Promise<string>;
  queueClaim(queue: string, owner: string, visibilityMs: number, max: number): Promise<ClaimResult>;
  /** Extends the claims still held; returns the ids whose claim was lost. */
  queueExtend(queue: string, claims: Array<[id: string, token: string]>, visibilityMs: number): Promise<string[]>;
  queueComplete(queue: string, id: string, token: string): Promise<boolean>;
  queueFail(queue: string, id: string, token: string, error: string): Promise<'retrying' | 'failed' | 'stale'>;
  queueCounts(queue: string): Promise<QueueCounts>;
  queueFailed(queue: string, limit: number): Promise<StoredFailedJob[]>;
  queueRetryFailed(queue: string): Promise<number>;
  /** Resolves when a job may have been pushed to `queue`, or after `maxMs`. */
  queueWait(queue: string, maxMs: number): Promise<void>;
}

/** Node id leases for UNIQUE_ID (Redis only: the embedded backend uses worker ids, which are unique on one server). */
export interface NodeIdBackend {
  /** A node id for UNIQUE_ID, or undefined when every id is taken. `start`: the first id tried (default random). */
  nodeIdLease(token: string, ttlMs: number, start?: number): Promise<NodeIdGrant | undefined>;
  /** `highWaterMs`: the highest timestamp this holder may use before its next renewal; `epoch`: the one it leased in. */
  nodeIdRenew(nodeId: number, token: string, ttlMs: number, highWaterMs: number, epoch: string): Promise<NodeIdRenewal>;
  nodeIdRelease(nodeId: number, token: string, highWaterMs: number): Promise<void>;
  /** Runs `listener` when the backend closes, before its connections go (to release the node id). */
  onClose(listener: () => Promise<void>): void;
}

/** Fences strictly increase and, being at least the clock in ms × 1000, keep increasing after the counter is lost. */
export const FENCE_CLOCK_FACTOR = 1000;

/** Node ids are 10 bits. */
export const NODE_ID_COUNT = 1024;
