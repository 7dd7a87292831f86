import type { WriteResult } from './write-request.js';

export interface PendingWrite {
  resolve: (result: WriteResult) => void;
  reject: (error: Error) => void;
  deadline: number;
  kind: string;
}

/**
 * A worker's writes waiting for their master's answer, numbered 1, 2, 3, … in the order they were
 * made. Answers and timeouts both come oldest first, so this is a queue taken from the front (a
 * Map with deletes at its front makes every walk over it step over the holes).
 */
export class PendingWrites {
  private items: Array<PendingWrite | undefined> = [];
  private head = 0;
  /** The number of the write at `items[head]`. */
  private firstReq = 1;

  get size(): number {
    return this.items.length - this.head;
  }

  /** Adds a write; returns its number. */
  add(write: PendingWrite): number {
    this.items.push(write);
    return this.firstReq + this.size - 1;
  }

  /** Takes the oldest write while `take(req, write)` says so. */
  takeWhile(take: (req: number, write: PendingWrite) => boolean): void {
    while (this.head < this.items.length) {
      const write = this.items[this.head]!;
      if (!take(this.firstReq, write)) break;
      this.items[this.head++] = undefined;
      this.firstReq++;
    }
    this.compact();
  }

  /** Removes and returns the writes numbered `from` and later (the newest). */
  takeFrom(from: number): PendingWrite[] {
    const index = Math.max(this.head, this.head + from - this.firstReq);
    return this.items.splice(index) as PendingWrite[];
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
