/**
 * Waiters keyed by name (a lock or a queue): each waits until woken or until its own timeout.
 * Used wherever a process waits for "maybe now": a release, a push.
 */
export class WakeList {
  private readonly waiting = new Map<string, Set<() => void>>();

  wait(key: string, maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiting.get(key);
      if (!set) this.waiting.set(key, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        set!.delete(done);
        if (set!.size === 0 && this.waiting.get(key) === set) this.waiting.delete(key);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, maxMs));
      set.add(done);
    });
  }

  wake(key: string): void {
    const set = this.waiting.get(key);
    if (set) for (const done of [...set]) done();
  }

  /** Wakes the longest-waiting waiter of `key` only. */
  wakeOne(key: string): void {
    const first = this.waiting.get(key)?.values().next().value;
    first?.();
  }

  wakeAll(): void {
    for (const key of [...this.waiting.keys()]) this.wake(key);
  }
}
