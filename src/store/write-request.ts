import type { OperationKind } from './operation.js';
import type { Document } from './update-operators.js';

/** A write as the API asks for it, before a replica stamps it. */
export interface WriteRequest {
  store: string;
  kind: OperationKind;
  id?: string;
  data?: Document;
  removeAfterSeconds?: number;
  /** The store's entry limit (checked where the write is stamped). */
  maxEntries?: number;
  /** An update from a worker that does not read this store yet: answer with the updated document. */
  returnDocument?: boolean;
}

export interface WriteResult {
  /** `exists`: a `create` found a live document at its place in the order (and changed nothing). */
  outcome: 'applied' | 'notExists' | 'exists';
  /** For `remove`: the removed document. */
  removed?: Document;
  /** For an update with `returnDocument`: the document after it. For `create`: the document there afterwards. */
  document?: Document;
}
