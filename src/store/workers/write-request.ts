import type { OperationKind } from '../replication/operation.js';
import type { Document } from '../documents/update-operators.js';

/** What a write does: the replicated operation kinds (`create` included: insert only if absent). */
export type WriteKind = OperationKind;

/** A write as the API asks for it, before a replica stamps it. */
export interface WriteRequest {
  store: string;
  kind: WriteKind;
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
