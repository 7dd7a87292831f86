/**
 * Hybrid logical clock (Kulkarni et al.): a timestamp that stays close to physical time but never
 * goes backwards and always moves past every timestamp this process has seen. SHARED_STORE
 * orders its operations by (wall, counter, origin), so every replica picks the same order.
 */
export interface Stamp {
  /** Milliseconds since the epoch (physical part). */
  wall: number;
  /** Breaks ties between events within the same millisecond. */
  counter: number;
}

/**
 * Test hook: `BOXWIRE_CLOCK_SKEW_MS` shifts this process's physical clock, so tests can give each
 * server a different wrong clock without touching the machine's. Leave it unset in production.
 */
const injectedSkewMs = Number(process.env.BOXWIRE_CLOCK_SKEW_MS ?? 0) || 0;

/** This process's physical clock in ms, including the injected test skew. */
export function physicalNow(): number {
  return Date.now() + injectedSkewMs;
}

export function compareStamps(a: Stamp, b: Stamp): number {
  return a.wall - b.wall || a.counter - b.counter;
}

export function maxStamp(a: Stamp, b: Stamp): Stamp {
  return compareStamps(a, b) >= 0 ? a : b;
}

export const ZERO_STAMP: Stamp = Object.freeze({ wall: 0, counter: 0 });

export class HybridLogicalClock {
  private last: Stamp = ZERO_STAMP;

  /** `physical` is where physical time comes from (the store passes a cluster-corrected clock). */
  constructor(private readonly physical: () => number = physicalNow) {}

  /** A new timestamp for a local event, greater than every timestamp issued or observed. */
  now(): Stamp {
    const pt = this.physical();
    this.last = pt > this.last.wall ? { wall: pt, counter: 0 } : { wall: this.last.wall, counter: this.last.counter + 1 };
    return this.last;
  }

  /** Moves the clock past a timestamp that arrived from another process. */
  observe(remote: Stamp): void {
    if (compareStamps(remote, this.last) > 0) this.last = { wall: remote.wall, counter: remote.counter };
  }

  /** The latest timestamp issued or observed, without issuing a new one. */
  peek(): Stamp {
    const pt = this.physical();
    return pt > this.last.wall ? { wall: pt, counter: 0 } : this.last;
  }
}
