/** What the table needs of an entry: the id it was filed under. */
export interface HasId {
  readonly id: number;
}

const INITIAL_SLOTS = 1024;
const MAX_SLOTS = 1 << 17;

/**
 * Entries by request id, for ids issued in sequence. Each id has a slot in an array (id & mask);
 * an entry still waiting when its slot comes round again moves to a Map, which only long-lived
 * requests reach. The slots grow while many requests are outstanding.
 *
 * Why not a Map for all of them: a Map with constant inserts and deletes rebuilds its table every
 * few hundred requests, and V8 links each old table to the next one (for live iterators). Once
 * one old table is promoted to the old generation, that link keeps the next table — and every
 * request it held — alive through the next scavenge, and so on: in a process with a small heap,
 * request/reply at 100 in flight promoted about 600 bytes per request and ran at half the rate
 * (constant incremental marking, a mark-compact every 100–200 ms).
 */
export class PendingById<T extends HasId> {
  private slots: Array<T | undefined> = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
  private mask = INITIAL_SLOTS - 1;
  private readonly displaced = new Map<number, T>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Files an entry under its id (ids are unique among the entries filed). */
  add(entry: T): void {
    let slot = entry.id & this.mask;
    const waiting = this.slots[slot];
    if (waiting !== undefined) {
      this.displaced.set(waiting.id, waiting);
      this.slots[slot] = undefined;
      if (this.displaced.size > this.slots.length >> 2 && this.slots.length < MAX_SLOTS) this.grow();
      slot = entry.id & this.mask;
      const other = this.slots[slot];
      if (other !== undefined) this.displaced.set(other.id, other);
    }
    this.slots[slot] = entry;
    this.count++;
  }

  /** Removes and returns the entry filed under `id`. */
  take(id: number): T | undefined {
    const slot = id & this.mask;
    let entry = this.slots[slot];
    if (entry !== undefined && entry.id === id) {
      this.slots[slot] = undefined;
    } else {
      entry = this.displaced.get(id);
      if (entry === undefined) return undefined;
      this.displaced.delete(id);
    }
    this.count--;
    return entry;
  }

  /** Every entry, in no particular order (a snapshot: taking entries while iterating is fine). */
  all(): T[] {
    const entries: T[] = [];
    for (const entry of this.slots) if (entry !== undefined) entries.push(entry);
    for (const entry of this.displaced.values()) entries.push(entry);
    return entries;
  }

  /** Doubles the slots and moves displaced entries back where their new slot is free. */
  private grow(): void {
    const entries = this.all();
    this.slots = new Array<T | undefined>(this.slots.length * 2).fill(undefined);
    this.mask = this.slots.length - 1;
    this.displaced.clear();
    for (const entry of entries) {
      const slot = entry.id & this.mask;
      if (this.slots[slot] === undefined) this.slots[slot] = entry;
      else this.displaced.set(entry.id, entry);
    }
  }
}
