/**
 * Restart delays for a crashing worker: 100 ms doubling to 30 s; a worker that stayed up for a
 * minute is considered healthy again and its next crash starts from 100 ms.
 */
export class CrashBackoff {
  private crashes = 0;

  constructor(
    private readonly initialMs = 100,
    private readonly maxMs = 30_000,
    private readonly stableMs = 60_000,
  ) {}

  /** Records a crash of a process that had been up for `uptimeMs`; returns the delay before the next start. */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.stableMs) this.crashes = 0;
    const delay = Math.min(this.initialMs * 2 ** this.crashes, this.maxMs);
    this.crashes++;
    return delay;
  }
}
