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
  /** Milliseconds still to wait after this timer fires (deadlines beyond Node's longest timer). */
  rest: number;
}

/**
 * Node's longest timer (about 24.8 days): a longer delay is not honoured but replaced by 1 ms
 * (TimeoutOverflowWarning), which would expire the tick — and with it every pending request the
 * caller scans — at once. Longer deadlines wait in steps of this.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

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
      const delay = tick * this.resolutionMs - Date.now();
      entry = { live: 0, timer: this.timer(tick, delay), rest: Math.max(0, delay - MAX_TIMER_MS) };
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
    // live > 0: a second remove for one deadline must not hide a later deadline of that tick.
    if (entry && entry.live > 0 && --entry.live === 0) entry.timer.unref();
  }

  private timer(tick: number, delayMs: number): NodeJS.Timeout {
    return setTimeout(() => this.expire(tick), Math.min(delayMs, MAX_TIMER_MS));
  }

  private expire(tick: number): void {
    const entry = this.ticks.get(tick);
    if (!entry) return;
    if (entry.rest > 0) {
      // A deadline beyond the longest timer: wait the next step (timer durations only, so a
      // wall-clock jump does not move it).
      const step = entry.rest;
      entry.rest = Math.max(0, step - MAX_TIMER_MS);
      entry.timer = this.timer(tick, step);
      if (entry.live === 0) entry.timer.unref();
      return;
    }
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
