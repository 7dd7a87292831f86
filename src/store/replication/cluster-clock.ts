import { physicalNow } from '../../core/hlc.js';

const SAMPLES = 8;

/**
 * Cluster time: this process's physical clock corrected toward the median clock of the servers
 * it hears from. Every replica judges expiry (and stamps writes) with it, so servers whose clocks
 * are off still agree, to within the link latency, on when an entry disappears. A server alone
 * (or never sampled) uses its own clock.
 *
 * Offsets are estimated from beats: sample = sender's physical time − our physical time at
 * receipt, which underestimates the true offset by the one-way latency; the largest of the last
 * few samples is kept, so a delayed message does not drag the estimate down.
 */
export class ClusterClock {
  private readonly samples = new Map<string, number[]>();
  private cachedOffset = 0;

  sample(peer: string, remotePhysical: number, localPhysical = physicalNow()): void {
    let list = this.samples.get(peer);
    if (!list) this.samples.set(peer, (list = []));
    list.push(remotePhysical - localPhysical);
    if (list.length > SAMPLES) list.shift();
    this.cachedOffset = this.computeOffset();
  }

  /** ms to add to this process's physical clock to get cluster time. */
  get offset(): number {
    return this.cachedOffset;
  }

  now(): number {
    return physicalNow() + this.cachedOffset;
  }

  private computeOffset(): number {
    const offsets = [0, ...[...this.samples.values()].map((list) => Math.max(...list))].sort((a, b) => a - b);
    const mid = offsets.length >> 1;
    return offsets.length % 2 ? offsets[mid] : Math.round((offsets[mid - 1] + offsets[mid]) / 2);
  }
}
