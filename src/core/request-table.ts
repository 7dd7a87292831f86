import { DeadlineWheel } from './deadline-wheel.js';
import { OverflowError, TimeoutError } from './errors.js';
import { PendingById } from './pending-by-id.js';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_PENDING = 100_000;

/** Worker number meaning "any worker that handles the method" (ANY_WORKER in envelope.ts). */
const ANY_WORKER = 0xfffe;

/** One request waiting for its reply. */
class Pending {
  constructor(
    readonly id: number,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: Error) => void,
    readonly method: string,
    readonly timeoutMs: number,
    /** The deadline tick it was filed under. */
    readonly tick: number,
    /** Who is expected to answer: a server ('' = this one) and a worker. */
    readonly server: string,
    readonly worker: number,
  ) {}

  /**
   * The peer as a string, e.g. '/3' (worker 3 here) or 'serverB/*' (any worker of serverB).
   * Built only when needed (a peer going down, a timeout), not for every request.
   */
  get peer(): string {
    return `${this.server}/${this.worker === ANY_WORKER ? '*' : this.worker}`;
  }
}

/** Requests waiting for replies, each with a deadline. Bounded. */
export class RequestTable {
  private readonly pending = new PendingById<Pending>();
  /**
   * Random start: two processes that share a worker id during a rolling restart (the old one and
   * its replacement) then use different ids, so the master can tell their replies apart.
   */
  private nextId = 1 + Math.floor(Math.random() * 0x3fffffff);
  private readonly deadlines = new DeadlineWheel((tick) => this.expire(tick));

  constructor(private readonly maxPending = DEFAULT_MAX_PENDING) {}

  /**
   * Reserves an id and returns it with the promise of the reply. `server` ('' for this one) and
   * `worker` say who answers, so the requests of a peer that goes down can be rejected.
   */
  open<T>(server: string, worker: number, method: string, timeoutMs: number): { id: number; promise: Promise<T> } {
    if (this.pending.size >= this.maxPending) throw new OverflowError('the pending request table', `${this.maxPending} requests`);
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw new RangeError(`timeoutMs must be a positive number of milliseconds (got ${timeoutMs})`);
    const id = this.nextId++;
    if (this.nextId > 0x7fffffff) this.nextId = 1;
    const tick = this.deadlines.add(timeoutMs);
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.add(new Pending(id, resolve as (value: unknown) => void, reject, method, timeoutMs, tick, server, worker));
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

  /** Rejects every request waiting on a peer for which `matches(peer)` holds (peer as in Pending.peer). */
  rejectPeers(matches: (peer: string) => boolean, error: (peer: string) => Error): number {
    let count = 0;
    for (const entry of this.pending.all()) {
      const peer = entry.peer;
      if (!matches(peer)) continue;
      this.take(entry.id);
      entry.reject(error(peer));
      count++;
    }
    return count;
  }

  get size(): number {
    return this.pending.size;
  }

  /** The oldest few requests still waiting: method and who should answer (for the start-up warning). */
  describePending(limit = 10): Array<{ method: string; server: string; worker: number }> {
    const out: Array<{ method: string; server: string; worker: number }> = [];
    for (const entry of this.pending.all()) {
      out.push({ method: entry.method, server: entry.server, worker: entry.worker });
      if (out.length >= limit) break;
    }
    return out;
  }

  private take(id: number): Pending | undefined {
    const entry = this.pending.take(id);
    if (!entry) return undefined;
    this.deadlines.remove(entry.tick);
    return entry;
  }

  /** A deadline tick passed with requests still pending: they time out (rare, so a scan is fine). */
  private expire(tick: number): void {
    for (const entry of this.pending.all()) {
      if (entry.tick > tick) continue;
      this.pending.take(entry.id);
      entry.reject(new TimeoutError(entry.method, entry.peer, entry.timeoutMs));
    }
  }
}
