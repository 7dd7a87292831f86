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
    return this.takeUpTo(1) === 1;
  }

  /** Takes as many whole tokens as there are, up to `wanted`; returns how many it took. */
  takeUpTo(wanted: number): number {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    const taken = Math.max(0, Math.min(wanted, Math.floor(this.tokens)));
    this.tokens -= taken;
    return taken;
  }

  /** Milliseconds until the next whole token (0 when one is there). */
  msUntilToken(): number {
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }
}

/** One bucket per key (HTTP callers by address), forgotten after a quiet minute. */
export class KeyedBuckets {
  private readonly buckets = new Map<string, { bucket: TokenBucket; seen: number }>();
  private sweptAt = Date.now();

  constructor(private readonly ratePerSecond: number, private readonly burst: number) {}

  take(key: string): boolean {
    return this.bucketOf(key).take();
  }

  bucketOf(key: string): TokenBucket {
    const now = Date.now();
    if (now - this.sweptAt > 60_000) this.sweep(now);
    let entry = this.buckets.get(key);
    if (!entry) this.buckets.set(key, (entry = { bucket: new TokenBucket(this.ratePerSecond, this.burst), seen: now }));
    entry.seen = now;
    return entry.bucket;
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [key, entry] of this.buckets) if (now - entry.seen > 60_000) this.buckets.delete(key);
  }
}
