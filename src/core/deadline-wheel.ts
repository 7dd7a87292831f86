/**
 * Deadlines for many requests with few timers. A request's deadline is rounded up to the next
 * tick of `resolutionMs`, and every deadline in one tick shares one Node timer, so opening a
 * request costs an array push instead of a timer. A deadline fires at most `resolutionMs` late.
 */
export class DeadlineWheel {
  private readonly buckets = new Map<number, number[]>();

  constructor(private readonly onExpired: (id: number, tick: number) => void, private readonly resolutionMs = 10) {}

  /** Files `id` under its deadline; returns the tick, which `onExpired` reports back. */
  add(id: number, timeoutMs: number): number {
    const tick = Math.ceil((Date.now() + timeoutMs) / this.resolutionMs);
    let bucket = this.buckets.get(tick);
    if (!bucket) {
      bucket = [];
      this.buckets.set(tick, bucket);
      setTimeout(() => this.expire(tick), tick * this.resolutionMs - Date.now());
    }
    bucket.push(id);
    return tick;
  }

  private expire(tick: number): void {
    const bucket = this.buckets.get(tick);
    this.buckets.delete(tick);
    // Ids already answered are simply no longer pending; onExpired ignores them.
    if (bucket) for (const id of bucket) this.onExpired(id, tick);
  }
}
