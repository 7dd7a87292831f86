/**
 * One `process(fn, { concurrency })` call: claims jobs while it has free slots, runs them, renews
 * their claims every visibilityTimeout/3 while they run, and acknowledges each one (done, or
 * failed → retried with backoff or kept as failed). Idle, it sleeps until a push wakes it or the
 * next delayed job / claim expiry is due. stop() claims nothing more and resolves once the running
 * jobs have finished and been acknowledged.
 */
import { decode } from '../core/codec.js';
import { log } from '../core/logger.js';
import type { ClaimedJob, CoordBackend } from './coord-backend.js';
import { jitteredBackoffMs, sleep } from './backoff-wait.js';
import { processToken } from './embedded-coordinator.js';

export interface JobInfo {
  id: string;
  queue: string;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  attempts: number;
  /** Aborts when this process lost the job's claim (it may run elsewhere now). */
  signal: AbortSignal;
}

export type JobHandler<D> = (data: D, job: JobInfo) => unknown | Promise<unknown>;

/** Longest error text kept with a failed job. */
const MAX_ERROR_TEXT = 4_000;

/** Longest idle sleep without a wake-up: claims of dead processes are noticed at least this often. */
const IDLE_POLL_MS = 1_000;

interface Running {
  job: ClaimedJob;
  controller: AbortController;
}

export class QueueConsumer<D> {
  private readonly owner = processToken();
  private readonly running = new Map<string, Running>();
  private stopping = false;
  private readonly stopController = new AbortController();
  private slotFreed?: () => void;
  private readonly loop: Promise<void>;
  private readonly renewTimer: NodeJS.Timeout;
  private failures = 0;

  constructor(
    private readonly backend: CoordBackend,
    private readonly queue: string,
    private readonly handler: JobHandler<D>,
    private readonly concurrency: number,
    private readonly visibilityMs: number,
  ) {
    this.renewTimer = setInterval(() => void this.renewClaims(), Math.floor(visibilityMs / 3));
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const free = this.concurrency - this.running.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      let claimed;
      try {
        claimed = await this.backend.queueClaim(this.queue, this.owner, this.visibilityMs, free);
        this.failures = 0;
      } catch (error) {
        this.failures++;
        if (this.failures === 1 || this.failures % 50 === 0) log.warn('queue.claim_failed', { queue: this.queue, failures: this.failures, error });
        await sleep(jitteredBackoffMs(this.failures, 50, 2_000), this.stopController.signal);
        continue;
      }
      for (const job of claimed.jobs) this.start(job);
      if (claimed.jobs.length < free && !this.stopping) {
        const wait = claimed.nextDueMs >= 0 ? Math.min(claimed.nextDueMs + 1, IDLE_POLL_MS) : IDLE_POLL_MS;
        await Promise.race([this.backend.queueWait(this.queue, wait), sleep(wait + 50, this.stopController.signal)]);
      }
    }
  }

  private start(job: ClaimedJob): void {
    const controller = new AbortController();
    this.running.set(job.id, { job, controller });
    const info: JobInfo = { id: job.id, queue: this.queue, attempt: job.attempt, attempts: job.attempts, signal: controller.signal };
    void (async () => {
      let failure: unknown;
      let failed = false;
      try {
        // Decoded here, per run: a job whose stored bytes cannot be decoded fails like a throw.
        await this.handler(decode(job.payload) as D, info);
      } catch (error) {
        failed = true;
        failure = error;
      }
      await this.acknowledge(job, failed, failure);
      this.running.delete(job.id);
      this.slotFreed?.();
      this.slotFreed = undefined;
    })();
  }

  /**
   * Tells the backend how the job went. While Redis is away this keeps trying until the claim would
   * have expired anyway (after that the job runs again elsewhere: at-least-once).
   */
  private async acknowledge(job: ClaimedJob, failed: boolean, error: unknown): Promise<void> {
    const giveUpAt = Date.now() + this.visibilityMs;
    for (let attempt = 0; ; attempt++) {
      try {
        if (!failed) await this.backend.queueComplete(this.queue, job.id, job.token);
        else {
          const outcome = await this.backend.queueFail(this.queue, job.id, job.token, describe(error));
          if (outcome === 'failed') log.warn('queue.job_failed', { queue: this.queue, job: job.id, attempts: job.attempts, error });
          else log.info('queue.job_retry', { queue: this.queue, job: job.id, attempt: job.attempt, outcome, error });
        }
        return;
      } catch (ackError) {
        if (Date.now() >= giveUpAt) {
          log.warn('queue.ack_failed', { queue: this.queue, job: job.id, error: ackError, note: 'the job will run again after its visibility timeout' });
          return;
        }
        await sleep(jitteredBackoffMs(attempt, 50, 1_000));
      }
    }
  }

  private async renewClaims(): Promise<void> {
    if (!this.running.size) return;
    const claims = [...this.running.values()].map(({ job }) => [job.id, job.token] as [string, string]);
    try {
      const lost = await this.backend.queueExtend(this.queue, claims, this.visibilityMs);
      for (const id of lost) {
        const running = this.running.get(id);
        if (running && !running.controller.signal.aborted) {
          log.warn('queue.claim_lost', { queue: this.queue, job: id });
          running.controller.abort(new Error(`job ${id} of queue '${this.queue}' was taken over (its claim expired); it may run elsewhere`));
        }
      }
    } catch (error) {
      log.debug('queue.renew_failed', { queue: this.queue, error });
    }
  }

  /** Claims nothing more; resolves when the running jobs are finished and acknowledged. */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.stopController.abort();
      this.slotFreed?.();
    }
    await this.loop;
    while (this.running.size) await new Promise<void>((resolve) => (this.slotFreed = resolve));
    clearInterval(this.renewTimer);
  }
}

/** The stored text of what a handler threw: bounded, and never throws itself (a thrown object may have no toString). */
function describe(error: unknown): string {
  let text: string;
  try {
    text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    text = `a thrown ${typeof error} that cannot be shown as text`;
  }
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}…` : text;
}
