/** Checked options of QUEUE's push and process, with their defaults. */
import type { PushOptions } from './coord-backend.js';
import { checkOptions, wholeNumber } from './coord-input.js';

export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 1_000;
export const DEFAULT_VISIBILITY_MS = 30_000;

export interface PushInput {
  /** Run no earlier than this many ms from now. */
  delayMs?: number;
  /** Runs in all, the first included (default 3); then the job is kept as failed. */
  attempts?: number;
  /** Wait before a retry after a thrown error: backoffMs × 2^(retry − 1) (default 1,000). */
  backoffMs?: number;
}

export interface ProcessInput {
  /** Jobs run at once in this process (default 1). */
  concurrency?: number;
  /** A job whose process stops renewing its claim for this long is run again elsewhere (default 30,000). */
  visibilityTimeoutMs?: number;
}

export function pushOptions(input: unknown): PushOptions {
  const where = 'QUEUE(name).push(data, options)';
  const options = checkOptions(where, input, ['delayMs', 'attempts', 'backoffMs'] as const);
  return {
    delayMs: wholeNumber(where, 'delayMs', options.delayMs, 0, 365 * 86_400_000, 0),
    attempts: wholeNumber(where, 'attempts', options.attempts, 1, 1_000, DEFAULT_ATTEMPTS),
    backoffMs: wholeNumber(where, 'backoffMs', options.backoffMs, 0, 86_400_000, DEFAULT_BACKOFF_MS),
  };
}

export function processOptions(input: unknown): Required<ProcessInput> {
  const where = 'QUEUE(name).process(fn, options)';
  const options = checkOptions(where, input, ['concurrency', 'visibilityTimeoutMs'] as const);
  return {
    concurrency: wholeNumber(where, 'concurrency', options.concurrency, 1, 10_000, 1),
    visibilityTimeoutMs: wholeNumber(where, 'visibilityTimeoutMs', options.visibilityTimeoutMs, 300, 86_400_000, DEFAULT_VISIBILITY_MS),
  };
}

/** Exponential backoff before retry number `attemptsMade` (1 = first retry), capped at a day. */
export function retryDelayMs(backoffMs: number, attemptsMade: number): number {
  return Math.min(86_400_000, backoffMs * 2 ** Math.max(0, attemptsMade - 1));
}
