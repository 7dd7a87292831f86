import { assertSafeKey } from '../../core/safe-keys.js';
import { isPlainObject } from '../../core/value-kinds.js';
import { copyValue, deepEqual } from './document-values.js';
import { StoreOperationError } from '../store-errors.js';

export type Document = Record<string, unknown>;

/**
 * Marks a field for deletion in `update({ data: { field: TO_DELETE } })`. A string marker (not a
 * Symbol or `null`) so it survives the wire and `null` stays an ordinary stored value.
 */
export const TO_DELETE = '__boxwire.TO_DELETE__';

const OPERATORS = new Set(['$inc', '$push', '$addToSet', '$pull']);

/**
 * Applies update data to a document and returns the new document; the input is not modified.
 * Plain fields merge at the top level (`TO_DELETE` removes one); `$inc`, `$push`, `$addToSet`
 * and `$pull` take `{ field: … }` with dotted paths allowed. Throws StoreOperationError (and
 * nothing changes) when an operator does not fit the stored field, UnsafeKeyError for a field or
 * path through `__proto__`, `prototype` or `constructor` (checked by every replica, not only at
 * the call site: an operation from anywhere can never walk into a prototype).
 */
export function applyUpdate(document: Document, data: Document): Document {
  const next = copyValue(document);
  for (const key of Object.keys(data)) {
    const value = data[key];
    assertSafeKey(key, 'update field');
    if (key.startsWith('$')) {
      if (!OPERATORS.has(key)) throw new StoreOperationError(`unknown update operator '${key}' (supported: ${[...OPERATORS].join(', ')})`);
      if (!isPlainObject(value)) throw new StoreOperationError(`${key} takes an object of { field: value }, got ${describe(value)}`);
      for (const path of Object.keys(value)) applyOperator(next, key, path, value[path]);
    } else if (value === TO_DELETE) {
      delete next[key];
    } else {
      next[key] = copyValue(value);
    }
  }
  return next;
}

/** Checks update data without a document, so bad calls fail at the call site. */
export function validateUpdateData(data: unknown): asserts data is Document {
  if (!isPlainObject(data)) throw new StoreOperationError(`update data must be an object, got ${describe(data)}`);
  applyUpdate({}, data);
}

function applyOperator(document: Document, operator: string, path: string, argument: unknown): void {
  assertSafeKey(path, `${operator} path`);
  const { parent, key } = resolvePath(document, path, operator);
  const current = Object.prototype.hasOwnProperty.call(parent, key) ? parent[key] : undefined;
  switch (operator) {
    case '$inc': {
      if (typeof argument !== 'number' && typeof argument !== 'bigint') throw new StoreOperationError(`$inc on '${path}' needs a number, got ${describe(argument)}`);
      // A missing field counts from 0 (UPPERCASE produced NaN here).
      const base = current === undefined ? (typeof argument === 'bigint' ? 0n : 0) : current;
      if (typeof base !== typeof argument) throw new StoreOperationError(`$inc on '${path}': the stored value is ${describe(current)}, not a ${typeof argument}`);
      parent[key] = (base as number) + (argument as number);
      return;
    }
    case '$push': {
      const list = arrayAt(current, path, operator);
      const { each, position } = eachOf(argument, path, operator, true);
      const at = position === undefined ? list.length : position < 0 ? Math.max(0, list.length + position) : Math.min(position, list.length);
      list.splice(at, 0, ...each);
      parent[key] = list;
      return;
    }
    case '$addToSet': {
      const list = arrayAt(current, path, operator);
      for (const item of eachOf(argument, path, operator, false).each) if (!list.some((x) => deepEqual(x, item))) list.push(item);
      parent[key] = list;
      return;
    }
    case '$pull': {
      if (current === undefined) return;
      const list = arrayAt(current, path, operator);
      parent[key] = list.filter((x) => !deepEqual(x, argument));
      return;
    }
  }
}

/** Walks a dotted path, creating intermediate objects; refuses to walk through non-objects. */
function resolvePath(document: Document, path: string, operator: string): { parent: Document; key: string } {
  if (!path.includes('.')) return { parent: document, key: path };
  const parts = path.split('.');
  let parent: Document = document;
  for (const part of parts.slice(0, -1)) {
    const next = Object.prototype.hasOwnProperty.call(parent, part) ? parent[part] : undefined;
    if (next === undefined) parent = parent[part] = {};
    else if (isPlainObject(next)) parent = next;
    else throw new StoreOperationError(`${operator} on '${path}': '${part}' is ${describe(next)}, not an object`);
  }
  return { parent, key: parts[parts.length - 1] };
}

function arrayAt(current: unknown, path: string, operator: string): unknown[] {
  if (current === undefined) return [];
  if (!Array.isArray(current)) throw new StoreOperationError(`${operator} on '${path}' needs an array field, but it holds ${describe(current)}; save the field as an array first`);
  return current;
}

function eachOf(argument: unknown, path: string, operator: string, allowPosition: boolean): { each: unknown[]; position?: number } {
  if (!isPlainObject(argument) || !('$each' in argument)) return { each: [copyValue(argument)] };
  const { $each, $position, ...rest } = argument;
  const extra = Object.keys(rest);
  if (extra.length || (!allowPosition && $position !== undefined)) {
    throw new StoreOperationError(`${operator} on '${path}': unsupported modifier(s) ${[...extra, ...(allowPosition ? [] : ['$position'])].join(', ')}`);
  }
  if (!Array.isArray($each)) throw new StoreOperationError(`${operator} on '${path}': $each needs an array, got ${describe($each)}`);
  if ($position !== undefined && !Number.isInteger($position)) throw new StoreOperationError(`${operator} on '${path}': $position needs an integer, got ${describe($position)}`);
  return { each: $each.map(copyValue), position: $position as number | undefined };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(typeof value === 'bigint' ? String(value) : value)}`;
}
