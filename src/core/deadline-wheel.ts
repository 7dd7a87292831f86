/**
 * Deadlines for many requests with few timers. A request's deadline is rounded up to the next
 * tick of `resolutionMs`, and every deadline in one tick shares one Node timer, so opening a
 * request costs a counter increment instead of a timer. A deadline fires at most `resolutionMs`
 * late.
 *
 * The wheel keeps only a count per tick, not the requests themselves: the caller settles
 * requests with `remove`. Only a tick that expires with requests left calls `onExpired`, and the
 * caller finds which ones (a timeout is the rare case; filing every id for 30 s cost memory and
 * GC at high rates). A tick whose requests were all answered keeps its timer, unreferenced, so
 * it no longer holds the process open, and the next request of that tick reuses it — sequential
 * requests would otherwise set and clear a timer each.
 */
interface Tick {
  live: number;
  timer: NodeJS.Timeout;
}

export class DeadlineWheel {
  private readonly ticks = new Map<number, Tick>();
  /** The tick most requests are being filed under right now (saves a map lookup per request). */
  private lastTick = -1;
  private last?: Tick;

  constructor(private readonly onExpired: (tick: number) => void, private readonly resolutionMs = 10) {}

  /** Files one deadline `timeoutMs` from now; returns its tick, to pass to `remove`. */
  add(timeoutMs: number): number {
    const tick = Math.ceil((Date.now() + timeoutMs) / this.resolutionMs);
    let entry = tick === this.lastTick ? this.last : this.ticks.get(tick);
    if (!entry) {
      entry = { live: 0, timer: setTimeout(() => this.expire(tick), tick * this.resolutionMs - Date.now()) };
      this.ticks.set(tick, entry);
    } else if (entry.live === 0) {
      entry.timer.ref();
    }
    entry.live++;
    this.lastTick = tick;
    this.last = entry;
    return tick;
  }

  /** A deadline filed under `tick` no longer matters (its request was settled). */
  remove(tick: number): void {
    const entry = tick === this.lastTick ? this.last : this.ticks.get(tick);
    if (entry && --entry.live === 0) entry.timer.unref();
  }

  private expire(tick: number): void {
    const entry = this.ticks.get(tick);
    if (!entry) return;
    this.forget(tick);
    if (entry.live > 0) this.onExpired(tick);
  }

  private forget(tick: number): void {
    this.ticks.delete(tick);
    if (tick === this.lastTick) {
      this.lastTick = -1;
      this.last = undefined;
    }
  }
}
