import { isPlainObject } from '../../core/value-kinds.js';
import type { Operation } from '../replication/operation.js';
import type { Entry } from './store-tables.js';

/**
 * Counter updates: `update({ data: { $inc: { path: n } } })` with small integer amounts and no
 * expiry. Among themselves their order cannot matter, which lets a replica fold one that arrives
 * late straight into the current state instead of replaying the id (see `foldsWithoutReplay`).
 *
 * Why exactly these: `$inc` on integers is exact in any order while every sum stays below 2^53;
 * it never deletes a field nor changes a field's type (a missing field becomes a number, a
 * missing parent an object), so whether an operation succeeds does not depend on where the
 * others land; without `expiresAt` none of them changes the entry's expiry. Everything else —
 * `save`, `remove`, `clear`, `$push`/`$addToSet`/`$pull` (array order is part of the state),
 * plain fields, fractional amounts, bigints, and any kind this code does not know (a newer
 * peer's `create`, say) — counts as order-dependent and is replayed.
 */

/** The largest amount a counter update may carry (2^31). */
const MAX_AMOUNT = 2 ** 31;
/** The largest stored value a late counter update may be folded onto (2^51). */
const MAX_VALUE = 2 ** 51;
/**
 * The most operations an id's history may hold for a late counter update to fold in without a
 * replay: with amounts ≤ 2^31 and stored values ≤ 2^51, every partial sum in any order stays
 * within 2^51 + 2^20 · 2^31 = 2^52, where doubles hold integers exactly.
 */
export const MAX_FOLDABLE_HISTORY = 2 ** 20;

const COUNTER = Symbol('boxwire.counterUpdate');

/** Whether `op` is a counter update (cached on the operation, which is immutable once stamped). */
export function isCounterUpdate(op: Operation): boolean {
  const marked = op as Operation & { [COUNTER]?: boolean };
  return (marked[COUNTER] ??= classify(op));
}

function classify(op: Operation): boolean {
  if (op.kind !== 'update' || op.expiresAt !== undefined || !op.data) return false;
  let keys = 0;
  for (const key in op.data) {
    if (key !== '$inc' || ++keys > 1) return false;
  }
  const inc = op.data.$inc;
  if (!isPlainObject(inc)) return false;
  let paths = 0;
  for (const path in inc) {
    const amount = inc[path];
    if (typeof amount !== 'number' || !Number.isInteger(amount) || Math.abs(amount) > MAX_AMOUNT) return false;
    paths++;
  }
  return paths > 0;
}

/**
 * Whether the late counter update `op` can be applied to `current` (the id's entry with every
 * other logged operation applied) and give what a replay from `base` would give, when every
 * operation in the id's history is a counter update and no clear of the store is logged.
 *
 * - `base` (the folded entry) must have no expiry and hold, along each path of `op`, objects and
 *   then a small integer or nothing: the logged operations only add small integers to it, so
 *   every value `op` can meet anywhere in the order is an exact integer.
 * - `current` must hold objects and then a number (or nothing) along each path: fields only ever
 *   appear and never change type, so `op` meets no conflicting type at any place in the order,
 *   and no operation that succeeded without it fails with it (nor the reverse).
 * - No base entry: every logged update found nothing, and so does `op`; nothing changes.
 */
export function foldsWithoutReplay(op: Operation, base: Entry | undefined, current: Entry | undefined): boolean {
  if (!base) return current === undefined;
  if (base.expiresAt !== undefined || !current || current.expiresAt !== undefined) return false;
  const inc = op.data!.$inc as Record<string, number>;
  for (const path in inc) {
    const before = valueAt(base.doc, path);
    if (before === CONFLICT || (before !== undefined && !(Number.isInteger(before) && Math.abs(before as number) <= MAX_VALUE))) return false;
    const now = valueAt(current.doc, path);
    if (now === CONFLICT || (now !== undefined && typeof now !== 'number')) return false;
  }
  return true;
}

const CONFLICT = Symbol('conflict');

/**
 * The value at a dotted path, read the way `$inc` walks it (update-operators.ts); CONFLICT when a
 * parent on the way is neither missing nor a plain object.
 */
function valueAt(doc: Record<string, unknown>, path: string): unknown {
  const parts = path.split('.');
  let node: Record<string, unknown> = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = node[parts[i]];
    if (next === undefined) return undefined;
    if (!isPlainObject(next)) return CONFLICT;
    node = next;
  }
  return node[parts[parts.length - 1]];
}
