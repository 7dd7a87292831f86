import { compareStamps, type Stamp } from '../../core/hlc.js';
import { compareOperations, type Operation } from './operation.js';
import { isCounterUpdate } from '../documents/counter-update.js';

/** Operations per block: an insert shifts at most about this many array slots. */
const BLOCK = 64;

/**
 * The operations on one id above the stable frontier, in the protocol's total order (HLC, origin).
 *
 * A hot id written by every server gets most of its operations late: each lands behind the
 * operations other servers stamped meanwhile. One sorted array made every such insert walk back
 * and shift the array's tail (cost: the number of recent writes on the id). Here the history is a
 * list of small sorted blocks: an insert finds its block by binary search over the blocks' last
 * operations and shifts at most one block, so it costs O(log n + BLOCK); folding drops whole
 * blocks from the front.
 *
 * It also keeps what the replica needs to decide whether a late operation can be folded in
 * without a replay (see Replica): how many of its operations are order-dependent (anything but a
 * counter `$inc`, including kinds it does not know), and from which operation on the cached
 * "entry after" of each operation is stale because a late one was folded in before it.
 */
export class IdHistory {
  private blocks: Operation[][] = [];
  private count = 0;
  /** Operations here that are not counter updates: their result depends on their place in the order. */
  orderDependent = 0;
  /**
   * The greatest order-dependent operation here. Counter updates ordered after it commute with
   * each other, so a late one that lands after it can be folded in from the entry right after it.
   */
  lastOrderDependent?: Operation;
  /**
   * The earliest operation folded in late without a replay. The entries cached after it and after
   * every later operation miss that operation's effect; the ones before it are exact.
   */
  staleFrom?: Operation;

  constructor(readonly store: string, readonly id: string) {}

  get size(): number {
    return this.count;
  }

  get last(): Operation | undefined {
    const block = this.blocks[this.blocks.length - 1];
    return block?.[block.length - 1];
  }

  /** Inserts `op` at its place; returns whether it is now the last (it arrived in order). */
  insert(op: Operation): boolean {
    this.count++;
    if (!isCounterUpdate(op)) {
      this.orderDependent++;
      if (!this.lastOrderDependent || compareOperations(this.lastOrderDependent, op) < 0) this.lastOrderDependent = op;
    }
    const blocks = this.blocks;
    const lastBlock = blocks[blocks.length - 1];
    if (!lastBlock || compareOperations(lastBlock[lastBlock.length - 1], op) < 0) {
      if (lastBlock && lastBlock.length < BLOCK) lastBlock.push(op);
      else blocks.push([op]);
      return true;
    }
    const b = this.blockOf(op);
    const block = blocks[b];
    block.splice(bound(block, op, true), 0, op);
    if (block.length > 2 * BLOCK) blocks.splice(b + 1, 0, block.splice(BLOCK));
    return false;
  }

  /** The operation right before `op` (which is in the history), or undefined when it is the first. */
  before(op: Operation): Operation | undefined {
    const b = this.blockOf(op);
    const i = bound(this.blocks[b], op, false);
    if (i > 0) return this.blocks[b][i - 1];
    const previous = this.blocks[b - 1];
    return previous?.[previous.length - 1];
  }

  /** The operations from `from` (included) on, in order; only those at or below `upTo` when given. */
  slice(from: Operation, upTo?: Stamp): Operation[] {
    const out: Operation[] = [];
    let b = this.blockOf(from);
    let i = bound(this.blocks[b], from, false);
    for (; b < this.blocks.length; b++, i = 0) {
      const block = this.blocks[b];
      for (; i < block.length; i++) {
        if (upTo && compareStamps(block[i], upTo) > 0) return out;
        out.push(block[i]);
      }
    }
    return out;
  }

  /** The first operation after `stamp`, if any. */
  firstAfter(stamp: Stamp): Operation | undefined {
    for (const block of this.blocks) {
      if (compareStamps(block[block.length - 1], stamp) <= 0) continue;
      for (const op of block) if (compareStamps(op, stamp) > 0) return op;
    }
    return undefined;
  }

  /** Every operation, in order. */
  toArray(): Operation[] {
    return this.blocks.flat();
  }

  /** Removes and returns the operations at or below `stable` (a prefix of the history). */
  takeUpTo(stable: Stamp): Operation[] {
    const blocks = this.blocks;
    let whole = 0;
    while (whole < blocks.length && compareStamps(blocks[whole][blocks[whole].length - 1], stable) <= 0) whole++;
    const taken = whole ? blocks.splice(0, whole).flat() : [];
    const head = blocks[0];
    if (head) {
      let n = 0;
      while (n < head.length && compareStamps(head[n], stable) <= 0) n++;
      if (n) for (const op of head.splice(0, n)) taken.push(op);
    }
    this.count -= taken.length;
    for (const op of taken) if (!isCounterUpdate(op)) this.orderDependent--;
    // The history keeps its order-dependent operations after the taken prefix: none left means the greatest was taken.
    if (this.orderDependent === 0) this.lastOrderDependent = undefined;
    if (this.staleFrom && compareStamps(this.staleFrom, stable) <= 0) this.staleFrom = this.firstAfter(stable);
    return taken;
  }

  /** The block that holds `op`'s place: the first whose last operation is not before it. */
  private blockOf(op: Operation): number {
    let low = 0;
    let high = this.blocks.length - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const block = this.blocks[mid];
      if (compareOperations(block[block.length - 1], op) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/**
 * Binary search in one sorted block: the first index whose operation is after `op` (`past`), or
 * not before it (`!past`: `op`'s own index when it is there).
 */
function bound(block: Operation[], op: Operation, past: boolean): number {
  let low = 0;
  let high = block.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const order = compareOperations(block[mid], op);
    if (order < 0 || (past && order === 0)) low = mid + 1;
    else high = mid;
  }
  return low;
}
