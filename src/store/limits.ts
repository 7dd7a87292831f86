import { ConfigError } from '../core/errors.js';
import { StoreLimitError } from './store-errors.js';

/**
 * The store's bounds. Every queue and table is bounded; going past a bound fails the write with
 * a clear error instead of growing memory without limit. Environment variables set the process
 * defaults (the master enforces the entry count and the replication log, so set them for the
 * whole server); `SHARED_STORE.configure(…)` and `SHARED_STORE(name, { maxEntries })` override.
 */
export interface StoreLimits {
  /** Largest encoded document (msgpack bytes). Default 1 MiB (BOXWIRE_STORE_MAX_DOCUMENT_BYTES). */
  maxDocumentBytes: number;
  /** Most entries one store may hold. Default 1,000,000 (BOXWIRE_STORE_MAX_ENTRIES). */
  maxEntriesPerStore: number;
  /**
   * Most operations a replica keeps that not every server has acknowledged yet (they are needed to
   * replay late operations and to catch up a server after a partition). Default 1,000,000
   * (BOXWIRE_STORE_MAX_PENDING_OPS). While a server is unreachable this log grows; when full,
   * new writes fail with OverflowError until the server returns or is removed from the config.
   */
  maxPendingOperations: number;
  /** Most write requests a worker may have waiting on its master. Default 100,000. */
  maxInFlightWrites: number;
}

function fromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${name} must be a positive integer, got '${raw}'`);
  return value;
}

const limits: StoreLimits = {
  maxDocumentBytes: fromEnv('BOXWIRE_STORE_MAX_DOCUMENT_BYTES', 1024 * 1024),
  maxEntriesPerStore: fromEnv('BOXWIRE_STORE_MAX_ENTRIES', 1_000_000),
  maxPendingOperations: fromEnv('BOXWIRE_STORE_MAX_PENDING_OPS', 1_000_000),
  maxInFlightWrites: fromEnv('BOXWIRE_STORE_MAX_IN_FLIGHT', 100_000),
};

export function storeLimits(): Readonly<StoreLimits> {
  return limits;
}

export function configureStoreLimits(next: Partial<StoreLimits>): void {
  for (const [key, value] of Object.entries(next)) {
    if (!(key in limits)) throw new ConfigError(`unknown store limit '${key}' (known: ${Object.keys(limits).join(', ')})`);
    if (!Number.isInteger(value) || (value as number) <= 0) throw new ConfigError(`store limit ${key} must be a positive integer, got ${String(value)}`);
    (limits as unknown as Record<string, number>)[key] = value as number;
  }
}

export function checkDocumentSize(store: string, id: string, bytes: number): void {
  if (bytes > limits.maxDocumentBytes) {
    throw new StoreLimitError(`document '${id}' in store '${store}' is ${bytes} bytes encoded, over the ${limits.maxDocumentBytes}-byte limit; split it, or raise maxDocumentBytes`);
  }
}

export function checkEntryCount(store: string, size: number, maxEntries = limits.maxEntriesPerStore): void {
  if (size >= maxEntries) {
    throw new StoreLimitError(`store '${store}' holds ${size} entries, its limit (${maxEntries}); remove entries, or raise maxEntries`);
  }
}
