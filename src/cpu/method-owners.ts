import { MASTER, type Envelope } from '../core/envelope.js';
import { HeldMessages } from '../core/held-messages.js';

/** Bound on messages held for methods whose workers are being re-forked. */
const MAX_AWAITING_OWNER = 100_000;

/**
 * Which workers handle each method, as they announce it (so the master can route "any worker
 * that handles it", round-robin), and what waits for a method whose only handlers were on
 * workers being re-forked (a crash, kill -9): held until the new process registers the method
 * again, as messages addressed to a restarting worker id wait — not answered NoHandlerError.
 */
export class MethodOwners {
  private readonly owners = new Map<string, number[]>();
  private readonly turns = new Map<string, number>();
  private readonly restarting = new Set<string>();
  private readonly awaiting = new HeldMessages();

  /** A worker added (present) or removed its handler of a method; what waited for one goes to it. */
  set(channel: number, method: string, workerId: number, present: boolean): void {
    const key = HeldMessages.key(channel, method);
    const owners = (this.owners.get(key) ?? []).filter((id) => id !== workerId);
    if (present) owners.push(workerId);
    if (owners.length) this.owners.set(key, owners.sort((a, b) => a - b));
    else this.owners.delete(key);
    if (present) {
      this.restarting.delete(key);
      this.awaiting.release(channel, method);
    }
  }

  /** Round-robin among workers that registered the method; MASTER when none did. */
  pick(channel: number, method: string): number {
    const key = HeldMessages.key(channel, method);
    const owners = this.owners.get(key);
    if (!owners?.length) return MASTER;
    const turn = this.turns.get(key) ?? 0;
    this.turns.set(key, turn + 1);
    return owners[turn % owners.length];
  }

  /** A new process takes `workerId`: it announces its methods afresh; those it alone handled wait for it. */
  workerReplaced(workerId: number): void {
    for (const [key, owners] of this.owners) {
      const index = owners.indexOf(workerId);
      if (index < 0) continue;
      owners.splice(index, 1);
      if (owners.length === 0) this.restarting.add(key);
    }
  }

  /**
   * Holds `envelope` when the workers that handled its method are being re-forked (bounded);
   * `redeliver` runs when one registers it again. False when it does not wait here.
   */
  holdForRestarting(envelope: Envelope, redeliver: () => void): boolean {
    if (!this.restarting.has(HeldMessages.key(envelope.channel, envelope.method)) || this.awaiting.size >= MAX_AWAITING_OWNER) return false;
    this.awaiting.hold(envelope, redeliver);
    return true;
  }

  /**
   * Every worker is back and none registered these methods again: what waited is delivered again
   * (and gets the no-handler answer) instead of waiting for its deadline.
   */
  releaseRestarting(): void {
    if (this.restarting.size === 0) return;
    const keys = [...this.restarting];
    this.restarting.clear();
    for (const key of keys) {
      const at = key.indexOf(':');
      this.awaiting.release(Number(key.slice(0, at)), key.slice(at + 1));
    }
  }
}
