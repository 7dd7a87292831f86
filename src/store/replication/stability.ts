import { ZERO_STAMP, compareStamps, maxStamp, type Stamp } from '../../core/hlc.js';

/**
 * Where the log of a replica is stable: each member reports a watermark (it holds every operation
 * at or below it), and the minimum over all members is the stable frontier, below which no
 * operation can still arrive. A replica's own watermark is the lowest point up to which it heard
 * everything from every other member (their operations, or their beats once it holds all their
 * operations).
 */
export class Stability {
  /** origin → stamp up to which every operation of that origin is here. */
  private readonly heard = new Map<string, Stamp>();
  /** member → the watermark it last reported. */
  readonly watermarks = new Map<string, Stamp>();

  constructor(private readonly self: string, private readonly members: () => string[]) {}

  /** Every operation of `origin` up to `stamp` is here. */
  heardUpTo(origin: string, stamp: Stamp): void {
    const heard = this.heard.get(origin);
    if (!heard || compareStamps(stamp, heard) > 0) this.heard.set(origin, { wall: stamp.wall, counter: stamp.counter });
  }

  /** A member says: "I hold every operation at or below `stamp`". */
  noteWatermark(member: string, stamp: Stamp): void {
    this.watermarks.set(member, maxStamp(this.watermarks.get(member) ?? ZERO_STAMP, stamp));
  }

  /** This replica's own watermark at clock reading `now`, noted as its own. */
  ownWatermark(now: Stamp): Stamp {
    let low = now;
    for (const member of this.members()) {
      if (member !== this.self) low = minStamp(low, this.heardFrom(member));
    }
    this.noteWatermark(this.self, low);
    return low;
  }

  /**
   * Up to where every operation of `member` is here. A member's operations normally carry its
   * name as origin; a member that restarted without reaching any peer writes under
   * `name~incarnation` (see Replica.useFreshOrigin), and its latest origin counts.
   */
  heardFrom(member: string): Stamp {
    let latest = this.heard.get(member) ?? ZERO_STAMP;
    for (const [origin, stamp] of this.heard) if (memberOf(origin) === member && compareStamps(stamp, latest) > 0) latest = stamp;
    return latest;
  }

  /** The stable frontier: the lowest watermark of all members. */
  stable(): Stamp | undefined {
    let stable: Stamp | undefined;
    for (const member of this.members()) {
      const mark = this.watermarks.get(member) ?? ZERO_STAMP;
      stable = stable ? minStamp(stable, mark) : mark;
    }
    return stable;
  }

  /** The other members whose watermark is not past `frontier` (what a full log waits for). */
  behind(frontier: Stamp): string[] {
    return this.members().filter((m) => m !== this.self && compareStamps(this.watermarks.get(m) ?? ZERO_STAMP, frontier) <= 0);
  }
}

/** The member (server) an origin belongs to: `B` for `B` and for `B~incarnation`. */
export function memberOf(origin: string): string {
  const at = origin.indexOf('~');
  return at < 0 ? origin : origin.slice(0, at);
}

function minStamp(a: Stamp, b: Stamp): Stamp {
  return compareStamps(a, b) <= 0 ? a : b;
}
