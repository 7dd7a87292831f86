/**
 * Bounded work per event-loop turn for calls that complete synchronously, like a write to this
 * process's own replica. Up to `limit` of them in one turn resolve at once; past that, each
 * resolves on the next turn (setImmediate). A loop such as
 * `while (…) await store.update(…)` — which would otherwise run in microtasks only, never
 * letting the event loop turn — then yields regularly, so heartbeats are answered and operations
 * from other servers are applied while it runs. The work itself is done at once either way; only
 * the continuation waits.
 */
export class TurnBudget {
  private used = 0;
  private resetScheduled = false;

  constructor(private readonly limit: number) {}

  /** `value` as a Promise: resolved now while this turn's budget lasts, else on the next turn. */
  resolve<T>(value: T): Promise<T> {
    if (!this.resetScheduled) {
      this.resetScheduled = true;
      setImmediate(() => {
        this.used = 0;
        this.resetScheduled = false;
      });
    }
    if (++this.used <= this.limit) return Promise.resolve(value);
    return new Promise((resolve) => setImmediate(() => resolve(value)));
  }
}
