/** One write of a store's batch, as StoreWriter queues and plans it for the write script. */
import type { Entry } from '../../documents/store-tables.js';
import type { Document } from '../../documents/update-operators.js';
import type { WriteRequest, WriteResult } from '../../workers/write-request.js';
import type { WriteCode } from './write-script.js';

export interface QueuedWrite {
  request: WriteRequest;
  resolve: (result: WriteResult) => void;
  reject: (error: Error) => void;
  deadline: number;
  madeAt: number;
}

/** What a write is computed from: an entry (or none) at a version; undefined when unknown. */
export interface Base {
  entry?: Entry;
  version: string;
  /** The feed position this was true at (Redis's answer to a conflict: newer than any copy behind it). */
  asOf?: string;
}

/** One write as planned for the script, with what this process expects from it. */
export interface PlannedWrite {
  write: QueuedWrite;
  code: WriteCode;
  expect: string;
  data: Buffer | '';
  ttlMs: number;
  /** The document it writes (save, create, update). */
  doc?: Document;
  /** An update that failed against this process's copy: the error, if Redis confirms the copy was current. */
  localError?: Error;
}

export const CHAINED = '^';
export const ABSENT = '0';
export const UNKNOWN = '?';

/** What a batch leaves for the next write on the same id; undefined when it could go either way. */
export function predictedAfter(item: PlannedWrite, base: Base | undefined): Base | undefined {
  switch (item.code) {
    case 's':
      return { entry: { doc: item.doc! }, version: CHAINED };
    case 'r':
      return { version: ABSENT };
    case 'u':
      if (item.expect === UNKNOWN) return undefined;
      // An update keeps the expiry unless it sets one (the exact new one is Redis's to compute).
      return item.doc ? { entry: { doc: item.doc, expiresAt: item.ttlMs ? Date.now() + item.ttlMs : base?.entry?.expiresAt }, version: CHAINED } : { version: ABSENT };
    case 'v':
      return base;
    default:
      return undefined;
  }
}
