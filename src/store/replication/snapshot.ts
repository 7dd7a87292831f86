import { encode } from '../../core/codec.js';
import { measure } from '../documents/document-size.js';
import type { Stamp } from '../../core/hlc.js';
import type { Operation } from './operation.js';
import type { Entry } from '../documents/store-tables.js';

/** Everything a replica holds, as sent to a replica that lost its memory (restart) or fell behind. */
export interface ReplicaSnapshot {
  frontier: Stamp;
  base: Array<[string, Array<[string, Entry]>]>;
  log: Operation[];
  seen: Array<[string, number]>;
  folded: Array<[string, number]>;
  watermarks: Array<[string, Stamp]>;
}

/**
 * A replica snapshot can be far larger than one server-link frame (16 MiB by default), so it
 * travels as parts of about CHUNK_BYTES — base entries, then log operations — and a head that
 * carries the rest and closes the transfer. Links are ordered, so parts arrive before their head.
 */
export const CHUNK_BYTES = 1 << 20;

export interface SnapshotPart {
  transfer: string;
  entries?: Array<[store: string, id: string, entry: Entry]>;
  ops?: Operation[];
}

export function splitSnapshot(snapshot: ReplicaSnapshot, transfer: string): { parts: SnapshotPart[]; head: ReplicaSnapshot } {
  return { parts: [...snapshotParts(snapshot, transfer)], head: snapshotHead(snapshot) };
}

/** The parts of a transfer, one at a time (each entry is measured as its part is cut, not all at once). */
export function* snapshotParts(snapshot: ReplicaSnapshot, transfer: string): Generator<SnapshotPart> {
  let entries: NonNullable<SnapshotPart['entries']> = [];
  let bytes = 0;
  for (const [store, table] of snapshot.base) {
    for (const [id, entry] of table) {
      entries.push([store, id, entry]);
      bytes += encode(entry).length + id.length + store.length;
      if (bytes >= CHUNK_BYTES) {
        yield { transfer, entries };
        entries = [];
        bytes = 0;
      }
    }
  }
  if (entries.length) yield { transfer, entries };
  for (const ops of operationChunks(snapshot.log)) yield { transfer, ops };
}

/** What closes a transfer: everything but the base entries and the log, which travel in parts. */
export function snapshotHead(snapshot: ReplicaSnapshot): ReplicaSnapshot {
  return { ...snapshot, base: [], log: [] };
}

/** Splits operations into runs of about CHUNK_BYTES, keeping their order. */
export function chunkOperations(ops: Operation[]): Operation[][] {
  return [...operationChunks(ops)];
}

/** The same, one run at a time (a large repair measures its operations as it sends them, not all at once). */
export function* operationChunks(ops: Iterable<Operation>): Generator<Operation[]> {
  let chunk: Operation[] = [];
  let bytes = 0;
  for (const op of ops) {
    chunk.push(op);
    // A bound, not an exact size: chunks only need to stay near CHUNK_BYTES.
    bytes += op.data === undefined ? 64 : measure(op.data) + 64;
    if (bytes >= CHUNK_BYTES) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
  }
  if (chunk.length) yield chunk;
}

/** Collects the parts of one transfer per peer; a new transfer from that peer discards an unfinished one. */
export class SnapshotAssembler {
  private readonly pending = new Map<string, { transfer: string; parts: number; entries: NonNullable<SnapshotPart['entries']>; ops: Operation[] }>();

  add(peer: string, part: SnapshotPart): void {
    let state = this.pending.get(peer);
    if (!state || state.transfer !== part.transfer) this.pending.set(peer, (state = { transfer: part.transfer, parts: 0, entries: [], ops: [] }));
    state.parts++;
    if (part.entries) for (const item of part.entries) state.entries.push(item);
    if (part.ops) for (const op of part.ops) state.ops.push(op);
  }

  /**
   * The whole snapshot, once its head arrived; undefined when the head does not say which
   * transfer it closes and how many parts it had, or not all of them arrived (a link that
   * dropped mid-transfer): merging the rest would replace the base with part of it. Anti-entropy
   * asks again.
   */
  finish(peer: string, head: ReplicaSnapshot, transfer: unknown, parts: unknown): ReplicaSnapshot | undefined {
    const state = this.pending.get(peer);
    this.pending.delete(peer);
    if (typeof transfer !== 'string' || !Number.isSafeInteger(parts)) return undefined;
    const received = state && state.transfer === transfer ? state.parts : 0;
    if (received !== parts) return undefined;
    if (!state || state.transfer !== transfer) return head;
    const base = new Map<string, Array<[string, Entry]>>();
    for (const [store, id, entry] of state.entries) {
      let list = base.get(store);
      if (!list) base.set(store, (list = []));
      list.push([id, entry]);
    }
    return { ...head, base: [...head.base, ...base], log: [...head.log, ...state.ops] };
  }
}
