import { compareStamps, type Stamp } from '../../core/hlc.js';
import type { Operation } from './operation.js';

/** The longest a `create` waits to learn its final verdict before it answers with what this replica holds. */
export const CREATE_SETTLE_MAX_MS = 5_000;

interface Waiting {
  op: Operation;
  deadline: number;
  resolve: () => void;
}

/**
 * `create` answers with the verdict of the replicated total order, not of this replica alone: a
 * create of the same id (or a remove) stamped earlier on another server may still be on its way.
 * It waits until every connected server has been heard from past the create's stamp — then no
 * operation ordered before it can still arrive from them — at most CREATE_SETTLE_MAX_MS. Servers
 * that are not connected are not waited for (a partition heals later, the same way everywhere).
 */
export class CreateSettling {
  private waiting: Waiting[] = [];

  constructor(
    /** Connected servers other than this one. */
    private readonly peers: () => string[],
    /** Up to where every operation of a server is here. */
    private readonly heardFrom: (server: string) => Stamp,
  ) {}

  /** Resolves once `op`'s place in the order can no longer change from a connected server's side. */
  wait(op: Operation): Promise<void> {
    if (this.isSettled(op)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ op, deadline: Date.now() + CREATE_SETTLE_MAX_MS, resolve }));
  }

  /** Called when something was heard from a server (beats, operations) and on every tick. */
  check(): void {
    if (this.waiting.length === 0) return;
    const now = Date.now();
    const still: Waiting[] = [];
    for (const entry of this.waiting) {
      if (entry.deadline <= now || this.isSettled(entry.op)) entry.resolve();
      else still.push(entry);
    }
    this.waiting = still;
  }

  private isSettled(op: Operation): boolean {
    return this.peers().every((peer) => compareStamps(this.heardFrom(peer), op) >= 0);
  }
}
