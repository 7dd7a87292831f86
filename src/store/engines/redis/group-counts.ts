/**
 * How many entries each slot group of a store holds, as this process last heard from Redis. The
 * entry limit is a store-wide number but a write script sees only its own group, so a group's
 * script gets the limit minus what the other groups hold: exact with one group; with several, a
 * burst of creates landing in different groups at once can pass the limit by the writes in
 * flight (each group's count is exact, their sum is as fresh as the last answer from each).
 */
export class GroupCounts {
  private readonly counts: number[];

  constructor(groups: number) {
    this.counts = new Array<number>(groups).fill(0);
  }

  set(group: number, count: number): void {
    if (Number.isFinite(count)) this.counts[group] = count;
  }

  /** What the groups other than `group` hold. */
  others(group: number): number {
    let sum = 0;
    for (let g = 0; g < this.counts.length; g++) if (g !== group) sum += this.counts[g];
    return sum;
  }
}
