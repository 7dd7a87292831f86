/**
 * QUEUE(name): durable, at-least-once jobs shared by every process of the cluster.
 *
 *   const emails = QUEUE('emails');
 *   await emails.push({ to: 'a@example.com' }, { delayMs: 60_000, attempts: 5 });
 *   const stop = emails.process(async (data, job) => send(data), { concurrency: 4 });
 *   await emails.counts(); // { waiting, delayed, active, completed, failed }
 *
 * A job runs at least once: a process that dies while running it loses its claim after the
 * visibility timeout and another process runs it again, so handlers must be idempotent (see
 * docs/coordination.md). A job that throws is retried with backoff up to `attempts` runs, then
 * kept as failed (`failed()`, `retryFailed()`). Jobs are never dropped before they are
 * acknowledged; completed jobs are counted and deleted.
 */
import { onStopAccepting } from '../cpu/index.js';
import { ConfigError } from '../core/errors.js';
import { decode } from '../core/codec.js';
import { coordBackend } from './backend-choice.js';
import type { QueueCounts } from './coord-backend.js';
import { checkName, encodeJobData, wholeNumber } from './coord-input.js';
import { processOptions, pushOptions, type ProcessInput, type PushInput } from './queue-options.js';
import { QueueConsumer, type JobHandler } from './queue-consumer.js';
import { trackConsumer } from './running-consumers.js';

export type { JobInfo, JobHandler } from './queue-consumer.js';
export type { QueueCounts } from './coord-backend.js';
export type { PushInput as PushOptions, ProcessInput as ProcessOptions } from './queue-options.js';

/** A job kept as failed, with its last error. */
export interface FailedJob {
  id: string;
  data: unknown;
  attemptsMade: number;
  error: string;
}

export class Queue<D = unknown> {
  readonly name: string;

  constructor(name: string) {
    this.name = checkName('QUEUE', name);
  }

  /**
   * Adds a job; resolves to its id once it is stored (on Redis: written, and durable as Redis is).
   * The data is copied (encoded) at once: changing the object afterwards does not change the job.
   */
  async push(data: D, options?: PushInput): Promise<string> {
    const checked = pushOptions(options);
    const payload = encodeJobData(`QUEUE('${this.name}').push`, data);
    return coordBackend('QUEUE').queuePush(this.name, payload, checked);
  }

  /**
   * Runs `fn` for jobs of this queue in this process, up to `concurrency` at once. Returns `stop`:
   * it claims no more jobs and resolves once the running ones finished. A graceful shutdown of the
   * process (SIGTERM, rolling restart) calls it too.
   */
  process(fn: JobHandler<D>, options?: ProcessInput): () => Promise<void> {
    if (typeof fn !== 'function') throw new ConfigError('QUEUE(name).process(fn, options?): fn must be a function');
    const { concurrency, visibilityTimeoutMs } = processOptions(options);
    const consumer = new QueueConsumer<D>(coordBackend('QUEUE'), this.name, fn, concurrency, visibilityTimeoutMs);
    let stopped: Promise<void> | undefined;
    const stop = () => {
      unregister();
      untrack();
      return (stopped ??= consumer.stop());
    };
    const unregister = onStopAccepting(stop);
    const untrack = trackConsumer(stop);
    return stop;
  }

  /** How many jobs are in each state. */
  counts(): Promise<QueueCounts> {
    return coordBackend('QUEUE').queueCounts(this.name);
  }

  /** Jobs kept as failed (oldest first), with their last error. */
  async failed(limit = 100): Promise<FailedJob[]> {
    wholeNumber(`QUEUE('${this.name}').failed(limit)`, 'limit', limit, 1, 10_000, 100);
    const jobs = await coordBackend('QUEUE').queueFailed(this.name, limit);
    return jobs.map(({ payload, ...job }) => ({ ...job, data: payload && decodeOr(payload) }));
  }

  /** Puts every failed job back in line with its attempts reset; resolves to how many. */
  retryFailed(): Promise<number> {
    return coordBackend('QUEUE').queueRetryFailed(this.name);
  }
}

export function QUEUE<D = unknown>(name: string): Queue<D> {
  return new Queue<D>(name);
}

/** Failed jobs are listed even when one's data cannot be decoded (it shows as undefined). */
function decodeOr(payload: Uint8Array): unknown {
  try {
    return decode(payload);
  } catch {
    return undefined;
  }
}
