/** A min-heap of (expiresAt, store, id), so expired entries are found without scanning stores. */
export class ExpiryQueue {
  private heap: Array<{ at: number; store: string; id: string }> = [];

  push(at: number, store: string, id: string): void {
    const heap = this.heap;
    heap.push({ at, store, id });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].at <= heap[i].at) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }

  /** Removes and yields every item due at or before `at`. */
  *popDue(at: number): Generator<{ at: number; store: string; id: string }> {
    const heap = this.heap;
    while (heap.length && heap[0].at <= at) {
      const top = heap[0];
      const last = heap.pop()!;
      if (heap.length) {
        heap[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && heap[l].at < heap[m].at) m = l;
          if (r < heap.length && heap[r].at < heap[m].at) m = r;
          if (m === i) break;
          [heap[m], heap[i]] = [heap[i], heap[m]];
          i = m;
        }
      }
      yield top;
    }
  }

  clear(): void {
    this.heap = [];
  }
}
