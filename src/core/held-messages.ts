import type { Envelope } from './envelope.js';

/** One message waiting for a handler, and how to deliver it again once one may exist. */
interface Held {
  envelope: Envelope;
  redeliver: () => void;
}

/**
 * Messages (one-way and requests) that reached a process while its user code was still starting
 * and whose method had no handler yet. They wait here, per method and in arrival order, until a
 * handler for their method is registered or the start-up ends (then they get the usual
 * no-handler answer). Replies never come here: a process always receives the answers to its own
 * requests at once.
 */
export class HeldMessages {
  private readonly byMethod = new Map<string, Held[]>();
  private total = 0;

  static key(channel: number, method: string): string {
    return `${channel}:${method}`;
  }

  get size(): number {
    return this.total;
  }

  /** Whether messages for this method are waiting (a later one must queue behind them: FIFO). */
  has(channel: number, method: string): boolean {
    return this.byMethod.has(HeldMessages.key(channel, method));
  }

  hold(envelope: Envelope, redeliver: () => void): void {
    const key = HeldMessages.key(envelope.channel, envelope.method);
    let list = this.byMethod.get(key);
    if (!list) this.byMethod.set(key, (list = []));
    list.push({ envelope, redeliver });
    this.total++;
  }

  /** Takes the messages of one method, oldest first, and delivers them again. */
  release(channel: number, method: string): void {
    const key = HeldMessages.key(channel, method);
    const list = this.byMethod.get(key);
    if (!list) return;
    this.byMethod.delete(key);
    this.total -= list.length;
    for (const held of list) held.redeliver();
  }

  /** Takes every message, each method's oldest first (start-up is over, or another endpoint takes over). */
  releaseAll(): void {
    for (const key of [...this.byMethod.keys()]) {
      const list = this.byMethod.get(key)!;
      this.byMethod.delete(key);
      this.total -= list.length;
      for (const held of list) held.redeliver();
    }
  }

  /** Moves everything held here into `other`, keeping each method's order. */
  moveTo(other: HeldMessages, redeliver: (envelope: Envelope) => () => void): void {
    for (const list of this.byMethod.values()) for (const held of list) other.hold(held.envelope, redeliver(held.envelope));
    this.byMethod.clear();
    this.total = 0;
  }

  /** `{ method: count }` of what waits, for the start-up warning. */
  describe(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const list of this.byMethod.values()) out[list[0].envelope.method] = (out[list[0].envelope.method] ?? 0) + list.length;
    return out;
  }
}
