import { DeadlineWheel } from './deadline-wheel.js';
import { OverflowError, TimeoutError } from './errors.js';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_PENDING = 100_000;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  method: string;
  timeoutMs: number;
  /** The deadline tick it was filed under (ids wrap around after 2^31 requests). */
  tick: number;
  /** Who is expected to answer, e.g. '/3' (worker 3 here) or 'serverB/-' (any worker of serverB). */
  peer: string;
}

/** Requests waiting for replies, each with a deadline. Bounded. */
export class RequestTable {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly deadlines = new DeadlineWheel((id, tick) => this.expire(id, tick));

  constructor(private readonly maxPending = DEFAULT_MAX_PENDING) {}

  /** Reserves an id and returns it with the promise of the reply. */
  open<T>(peer: string, method: string, timeoutMs: number): { id: number; promise: Promise<T> } {
    if (this.pending.size >= this.maxPending) throw new OverflowError('the pending request table', `${this.maxPending} requests`);
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw new RangeError(`timeoutMs must be a positive number of milliseconds (got ${timeoutMs})`);
    const id = this.nextId++;
    if (this.nextId > 0x7fffffff) this.nextId = 1;
    const tick = this.deadlines.add(id, timeoutMs);
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, method, timeoutMs, tick, peer });
    });
    return { id, promise };
  }

  resolve(id: number, value: unknown): boolean {
    const entry = this.take(id);
    entry?.resolve(value);
    return entry !== undefined;
  }

  reject(id: number, error: Error): boolean {
    const entry = this.take(id);
    entry?.reject(error);
    return entry !== undefined;
  }

  /** Rejects every request waiting on a peer for which `matches(peer)` holds. */
  rejectPeers(matches: (peer: string) => boolean, error: (peer: string) => Error): number {
    let count = 0;
    for (const [id, entry] of this.pending) {
      if (!matches(entry.peer)) continue;
      this.take(id);
      entry.reject(error(entry.peer));
      count++;
    }
    return count;
  }

  get size(): number {
    return this.pending.size;
  }

  private take(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.pending.delete(id);
    return entry;
  }

  private expire(id: number, tick: number): void {
    if (this.pending.get(id)?.tick !== tick) return;
    const entry = this.take(id)!;
    entry.reject(new TimeoutError(entry.method, entry.peer, entry.timeoutMs));
  }
}
