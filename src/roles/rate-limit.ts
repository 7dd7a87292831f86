/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `burst`. Each call takes one;
 * none left means the caller is over its rate. Cheap enough to keep one per connection.
 */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(private readonly ratePerSecond: number, private readonly burst: number) {
    this.tokens = burst;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** One bucket per key (HTTP callers by address), forgotten after a quiet minute. */
export class KeyedBuckets {
  private readonly buckets = new Map<string, { bucket: TokenBucket; seen: number }>();
  private sweptAt = Date.now();

  constructor(private readonly ratePerSecond: number, private readonly burst: number) {}

  take(key: string): boolean {
    const now = Date.now();
    if (now - this.sweptAt > 60_000) this.sweep(now);
    let entry = this.buckets.get(key);
    if (!entry) this.buckets.set(key, (entry = { bucket: new TokenBucket(this.ratePerSecond, this.burst), seen: now }));
    entry.seen = now;
    return entry.bucket.take();
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [key, entry] of this.buckets) if (now - entry.seen > 60_000) this.buckets.delete(key);
  }
}
