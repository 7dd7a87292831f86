/** Checked options of QUEUE's push and process, with their defaults. */
import { ConfigError } from '../core/errors.js';
import type { PushOptions } from './coord-backend.js';

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

function wholeNumber(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return value;
}

export function pushOptions(input: PushInput | undefined): PushOptions {
  if (input !== undefined && (typeof input !== 'object' || input === null)) throw new ConfigError('QUEUE push options must be an object { delayMs?, attempts?, backoffMs? }');
  return {
    delayMs: wholeNumber(input?.delayMs, 'delayMs', 0, 365 * 86_400_000, 0),
    attempts: wholeNumber(input?.attempts, 'attempts', 1, 1_000, DEFAULT_ATTEMPTS),
    backoffMs: wholeNumber(input?.backoffMs, 'backoffMs', 0, 86_400_000, DEFAULT_BACKOFF_MS),
  };
}

export function processOptions(input: ProcessInput | undefined): Required<ProcessInput> {
  if (input !== undefined && (typeof input !== 'object' || input === null)) throw new ConfigError('QUEUE process options must be an object { concurrency?, visibilityTimeoutMs? }');
  return {
    concurrency: wholeNumber(input?.concurrency, 'concurrency', 1, 10_000, 1),
    visibilityTimeoutMs: wholeNumber(input?.visibilityTimeoutMs, 'visibilityTimeoutMs', 300, 86_400_000, DEFAULT_VISIBILITY_MS),
  };
}

/** Exponential backoff before retry number `attemptsMade` (1 = first retry), capped at a day. */
export function retryDelayMs(backoffMs: number, attemptsMade: number): number {
  return Math.min(86_400_000, backoffMs * 2 ** Math.max(0, attemptsMade - 1));
}

export function checkQueueName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new ConfigError(`QUEUE(name): name must be a non-empty string of at most 200 characters (got ${JSON.stringify(name)})`);
  return name;
}
