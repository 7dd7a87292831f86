/**
 * Delays between dial attempts to a server that is unreachable: exponential (100 ms doubling to
 * 5 s) with jitter, so a cluster restarting at once does not dial in lockstep. Forever: a server
 * is never given up on, since the host map says it belongs to the cluster.
 */
export class ReconnectBackoff {
  private attempt = 0;

  constructor(
    private readonly initialMs = 100,
    private readonly maxMs = 5000,
    private readonly random: () => number = Math.random,
  ) {}

  /** Delay before the next attempt: a random point in the upper half of the current step. */
  next(): number {
    const step = Math.min(this.initialMs * 2 ** this.attempt, this.maxMs);
    if (step < this.maxMs) this.attempt++;
    return Math.round(step / 2 + (this.random() * step) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
