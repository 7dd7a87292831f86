import type { Operation } from './operation.js';

/**
 * Operations that arrived ahead of a gap in their origin's sequence (a message lost or still on
 * another path), held until the gap is filled: each origin's operations are accepted in sequence.
 */
export class HeldOperations {
  private readonly held = new Map<string, Map<number, Operation>>();

  hold(op: Operation): void {
    let held = this.held.get(op.origin);
    if (!held) this.held.set(op.origin, (held = new Map()));
    held.set(op.seq, op);
  }

  /** Removes and returns the held operation of `origin` that comes right after `seq`, if any. */
  takeNext(origin: string, seq: number): Operation | undefined {
    const held = this.held.get(origin);
    const next = held?.get(seq + 1);
    if (!next) return undefined;
    held!.delete(next.seq);
    if (held!.size === 0) this.held.delete(origin);
    return next;
  }

  /**
   * After `seen` (origin → highest sequence held without gaps) jumped (a snapshot filled gaps):
   * drops what is no longer needed and removes and returns, per origin, the operation now due.
   */
  dueAfter(seen: Map<string, number>): Operation[] {
    const due: Operation[] = [];
    for (const [origin, held] of [...this.held]) {
      const upTo = seen.get(origin) ?? 0;
      for (const seq of [...held.keys()]) if (seq <= upTo) held.delete(seq);
      if (held.size === 0) this.held.delete(origin);
      const next = this.takeNext(origin, upTo);
      if (next) due.push(next);
    }
    return due;
  }
}
