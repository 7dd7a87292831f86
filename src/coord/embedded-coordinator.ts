/**
 * The embedded coordination state of one server, kept in its master's memory (or in the only
 * process when there is no clustering): locks, queues and node ids for every worker of the server.
 * Workers reach it by messages (embedded-node.ts). It lives as long as the master: queued jobs
 * survive worker crashes and restarts, not a restart of the server (use Redis for that).
 *
 * Claims and locks carry the holder's pid in their token (`p<pid>.…`): when a worker process dies,
 * its locks are released and its running jobs are retried at once instead of after their timeout.
 */
import { randomUUID } from 'node:crypto';
import { FENCE_CLOCK_FACTOR, type ClaimResult, type CoordBackend, type StoredFailedJob, type LockAttempt, type PushOptions, type QueueCounts } from './coord-backend.js';
import { retryDelayMs } from './queue-options.js';
import { IdLine } from './id-line.js';
import { WakeList } from './wake-list.js';

interface HeldLock {
  token: string;
  expiresAt: number;
}

interface StoredJob {
  id: string;
  payload: Uint8Array;
  attempts: number;
  backoffMs: number;
  attemptsMade: number;
  token?: string;
  state: 'waiting' | 'delayed' | 'active' | 'failed';
  dueAt: number;
  error?: string;
}

/** One queue: every job by id, plus an index per state so no step walks all jobs. */
class EmbeddedQueue {
  readonly jobs = new Map<string, StoredJob>();
  /** Waiting ids, oldest first (a job taken over goes first). */
  readonly waiting = new IdLine();
  /** Delayed and active jobs: the ones with a due time. */
  readonly timed = new Set<string>();
  readonly failed = new Set<string>();
  completed = 0;
  seq = 0;

  /** Moves `job` to `state`, keeping the indexes in step. */
  move(job: StoredJob, state: StoredJob['state'], where: 'back' | 'front' = 'back'): void {
    if (job.state === 'waiting') this.waiting.remove(job.id);
    this.timed.delete(job.id);
    this.failed.delete(job.id);
    job.state = state;
    if (state === 'waiting') {
      if (where === 'front') this.waiting.pushFront(job.id);
      else this.waiting.push(job.id);
    } else if (state === 'failed') this.failed.add(job.id);
    else this.timed.add(job.id);
  }

  /** Forgets `job` entirely (it completed). */
  drop(job: StoredJob): void {
    if (job.state === 'waiting') this.waiting.remove(job.id);
    this.timed.delete(job.id);
    this.failed.delete(job.id);
    this.jobs.delete(job.id);
  }

  count(state: 'delayed' | 'active'): number {
    let n = 0;
    for (const id of this.timed) if (this.jobs.get(id)?.state === state) n++;
    return n;
  }
}

export class EmbeddedCoordinator implements CoordBackend {
  readonly kind = 'embedded' as const;
  private readonly locks = new Map<string, HeldLock>();
  private lastFence = 0;
  private readonly lockWaiters = new WakeList();
  private readonly queues = new Map<string, EmbeddedQueue>();
  private readonly queueWaiters = new WakeList();

  constructor(private readonly now: () => number = Date.now) {}

  // ---- locks -------------------------------------------------------------------------------

  async lockAcquire(name: string, token: string, ttlMs: number): Promise<LockAttempt> {
    const now = this.now();
    const held = this.locks.get(name);
    if (held && held.expiresAt > now) return { busyForMs: held.expiresAt - now };
    this.locks.set(name, { token, expiresAt: now + ttlMs });
    // One counter for every lock name: strictly increasing per name, no per-name record to keep.
    this.lastFence = Math.max(this.lastFence + 1, now * FENCE_CLOCK_FACTOR);
    return { fence: this.lastFence };
  }

  async lockRenew(name: string, token: string, ttlMs: number): Promise<boolean> {
    const held = this.locks.get(name);
    if (!held || held.token !== token || held.expiresAt <= this.now()) return false;
    held.expiresAt = this.now() + ttlMs;
    return true;
  }

  async lockRelease(name: string, token: string): Promise<boolean> {
    const held = this.locks.get(name);
    if (!held || held.token !== token) return false;
    this.locks.delete(name);
    this.lockWaiters.wake(name);
    return true;
  }

  lockWait(name: string, maxMs: number): Promise<void> {
    return this.lockWaiters.wait(name, maxMs);
  }

  // ---- queues ------------------------------------------------------------------------------

  private queue(name: string): EmbeddedQueue {
    let queue = this.queues.get(name);
    if (!queue) this.queues.set(name, (queue = new EmbeddedQueue()));
    return queue;
  }

  async queuePush(name: string, payload: Uint8Array, options: PushOptions): Promise<string> {
    const queue = this.queue(name);
    const id = String(++queue.seq);
    const job: StoredJob = { id, payload, attempts: options.attempts, backoffMs: options.backoffMs, attemptsMade: 0, state: 'delayed', dueAt: this.now() + options.delayMs };
    queue.jobs.set(id, job);
    queue.move(job, options.delayMs > 0 ? 'delayed' : 'waiting');
    this.queueWaiters.wake(name);
    return id;
  }

  async queueClaim(name: string, owner: string, visibilityMs: number, max: number): Promise<ClaimResult> {
    const queue = this.queue(name);
    const now = this.now();
    this.promoteDue(queue, now);
    const jobs: ClaimResult['jobs'] = [];
    while (jobs.length < max && queue.waiting.length) {
      const job = queue.jobs.get(queue.waiting.shift()!);
      if (!job) continue;
      job.attemptsMade++;
      job.token = `${owner}:${job.id}:${job.attemptsMade}`;
      job.state = 'active'; // shifted off the line already
      queue.timed.add(job.id);
      job.dueAt = now + visibilityMs;
      jobs.push({ id: job.id, payload: job.payload, attempt: job.attemptsMade, attempts: job.attempts, token: job.token });
    }
    let next = Infinity;
    for (const id of queue.timed) next = Math.min(next, queue.jobs.get(id)!.dueAt);
    return { jobs, nextDueMs: next === Infinity ? -1 : Math.max(0, next - now) };
  }

  /** Due delayed jobs start waiting; active jobs past their visibility timeout are retried or failed. */
  private promoteDue(queue: EmbeddedQueue, now: number): void {
    for (const id of [...queue.timed]) {
      const job = queue.jobs.get(id)!;
      if (job.dueAt > now) continue;
      if (job.state === 'delayed') {
        queue.move(job, 'waiting');
      } else {
        this.takeOver(queue, job, 'visibility timeout: the process running it stopped answering');
      }
    }
  }

  private takeOver(queue: EmbeddedQueue, job: StoredJob, reason: string): void {
    job.token = undefined;
    if (job.attemptsMade >= job.attempts) {
      job.error = reason;
      queue.move(job, 'failed');
    } else {
      queue.move(job, 'waiting', 'front');
    }
  }

  async queueExtend(name: string, claims: Array<[string, string]>, visibilityMs: number): Promise<string[]> {
    const queue = this.queue(name);
    const lost: string[] = [];
    for (const [id, token] of claims) {
      const job = queue.jobs.get(id);
      if (job?.state === 'active' && job.token === token) job.dueAt = this.now() + visibilityMs;
      else lost.push(id);
    }
    return lost;
  }

  async queueComplete(name: string, id: string, _token: string): Promise<boolean> {
    const queue = this.queue(name);
    const job = queue.jobs.get(id);
    // The work is done even if the claim was taken over meanwhile: count it once, drop the job.
    if (!job) return false;
    queue.drop(job);
    queue.completed++;
    return true;
  }

  async queueFail(name: string, id: string, token: string, error: string): Promise<'retrying' | 'failed' | 'stale'> {
    const queue = this.queue(name);
    const job = queue.jobs.get(id);
    if (!job || job.state !== 'active' || job.token !== token) return 'stale';
    job.token = undefined;
    job.error = error;
    if (job.attemptsMade >= job.attempts) {
      queue.move(job, 'failed');
      return 'failed';
    }
    job.dueAt = this.now() + retryDelayMs(job.backoffMs, job.attemptsMade);
    queue.move(job, 'delayed');
    this.queueWaiters.wake(name);
    return 'retrying';
  }

  async queueCounts(name: string): Promise<QueueCounts> {
    const queue = this.queue(name);
    this.promoteDue(queue, this.now());
    return { waiting: queue.waiting.length, delayed: queue.count('delayed'), active: queue.count('active'), completed: queue.completed, failed: queue.failed.size };
  }

  async queueFailed(name: string, limit: number): Promise<StoredFailedJob[]> {
    const queue = this.queue(name);
    return [...queue.failed].slice(0, limit).map((id) => {
      const job = queue.jobs.get(id)!;
      return { id, payload: job.payload, attemptsMade: job.attemptsMade, error: job.error ?? '' };
    });
  }

  async queueRetryFailed(name: string): Promise<number> {
    const queue = this.queue(name);
    const n = queue.failed.size;
    for (const id of [...queue.failed]) {
      const job = queue.jobs.get(id)!;
      job.attemptsMade = 0;
      queue.move(job, 'waiting');
    }
    if (n) this.queueWaiters.wake(name);
    return n;
  }

  queueWait(name: string, maxMs: number): Promise<void> {
    return this.queueWaiters.wait(name, maxMs);
  }

  // ---- a worker process died ---------------------------------------------------------------

  /** Releases the locks of process `pid` and retries its running jobs now. */
  forgetProcess(pid: number): void {
    const prefix = `p${pid}.`;
    for (const [name, held] of this.locks) {
      if (held.token.startsWith(prefix)) void this.lockRelease(name, held.token);
    }
    for (const [name, queue] of this.queues) {
      let woke = false;
      for (const id of [...queue.timed]) {
        const job = queue.jobs.get(id)!;
        if (job.state === 'active' && job.token?.startsWith(prefix)) {
          this.takeOver(queue, job, `the process running it (pid ${pid}) died`);
          woke = true;
        }
      }
      if (woke) this.queueWaiters.wake(name);
    }
  }
}

/** A token that names this process (so a dead process's claims can be found) and is unguessable. */
export function processToken(): string {
  return `p${process.pid}.${randomUUID()}`;
}
