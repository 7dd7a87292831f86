/**
 * NTP-style clock offset between this server and a peer, from heartbeat round trips:
 *   offset = ((t1 − t0) + (t2 − t3)) / 2,   delay = (t3 − t0) − (t2 − t1)
 * where t0/t3 are our send/receive times and t1/t2 the peer's. The sample with the smallest
 * delay among the recent ones is the least distorted by queuing, so it is the one reported.
 * A positive offset means the peer's clock is ahead of ours.
 */
export class ClockOffset {
  private samples: Array<{ offset: number; delay: number }> = [];

  constructor(private readonly keep = 8) {}

  add(t0: number, t1: number, t2: number, t3: number): void {
    const delay = Math.max(0, t3 - t0 - (t2 - t1));
    this.samples.push({ offset: (t1 - t0 + (t2 - t3)) / 2, delay });
    if (this.samples.length > this.keep) this.samples.shift();
  }

  /** Best current estimate in ms, or undefined before the first sample. */
  get offsetMs(): number | undefined {
    let best: { offset: number; delay: number } | undefined;
    for (const sample of this.samples) if (!best || sample.delay < best.delay) best = sample;
    return best && Math.round(best.offset * 10) / 10;
  }

  get roundTripMs(): number | undefined {
    return this.samples.length ? Math.min(...this.samples.map((s) => s.delay)) : undefined;
  }

  reset(): void {
    this.samples = [];
  }
}
