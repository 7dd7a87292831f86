import { assertSafeKey } from '../../core/safe-keys.js';
import { EncodeError } from '../../core/errors.js';
import { isPlainObject } from '../../core/value-kinds.js';
import { copyValue } from './document-values.js';

/**
 * Upper bounds of a value's encoded (msgpack) size, computed while walking it once, so the
 * document-size limit needs an exact encode only when a bound comes near the limit. Each bound
 * covers the worst case of what the codec writes: a string's UTF-8 bytes (at most 3 per UTF-16
 * unit) and header, 9 bytes per number, a record definition per object. Values whose size the
 * walk cannot bound (large bigints, typed arrays other than bytes, other classes) make the bound
 * infinite, which sends the caller to the exact encode.
 */
const MAX_DEPTH = 500;
const OBJECT_OVERHEAD = 12;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

let bound = 0;

/** A deep copy of `value` plus an upper bound of its encoded size; throws EncodeError for what msgpack cannot carry. */
export function copyAndMeasure<T>(value: T): { copy: T; maxBytes: number } {
  bound = 0;
  const copy = walk(value, 0, true) as T;
  return { copy, maxBytes: bound };
}

/** An upper bound of `value`'s encoded size; throws EncodeError for what msgpack cannot carry. */
export function measure(value: unknown): number {
  bound = 0;
  walk(value, 0, false);
  return bound;
}

function walk(value: unknown, depth: number, copying: boolean): unknown {
  switch (typeof value) {
    case 'string':
      bound += 5 + 3 * value.length;
      return value;
    case 'number':
    case 'boolean':
    case 'undefined':
      bound += 9;
      return value;
    case 'bigint':
      bound += value >= INT64_MIN && value <= UINT64_MAX ? 9 : Infinity;
      return value;
    case 'function':
      throw new EncodeError('a function cannot be stored');
    case 'symbol':
      throw new EncodeError('a symbol cannot be stored');
  }
  if (value === null) {
    bound += 1;
    return null;
  }
  if (depth > MAX_DEPTH) throw new EncodeError('the data contains a cycle (or is nested more than 500 levels deep)');
  if (Array.isArray(value)) {
    bound += 5;
    const out: unknown[] | undefined = copying ? new Array(value.length) : undefined;
    for (let i = 0; i < value.length; i++) {
      const item = walk(value[i], depth + 1, copying);
      if (out) out[i] = item;
    }
    return out;
  }
  if (isPlainObject(value)) {
    bound += OBJECT_OVERHEAD;
    const out: Record<string, unknown> | undefined = copying ? {} : undefined;
    for (const key of Object.keys(value as Record<string, unknown>)) {
      assertSafeKey(key, 'document field');
      bound += 5 + 3 * key.length;
      const item = walk((value as Record<string, unknown>)[key], depth + 1, copying);
      if (out) out[key] = item;
    }
    return out;
  }
  if (value instanceof Date) {
    bound += 15;
  } else if (value instanceof Uint8Array) {
    bound += 8 + value.byteLength;
  } else if (value instanceof Map) {
    bound += 5;
    for (const [key, item] of value) {
      walk(key, depth + 1, false);
      walk(item, depth + 1, false);
    }
  } else if (value instanceof Set) {
    bound += 12;
    for (const item of value) walk(item, depth + 1, false);
  } else {
    bound = Infinity;
  }
  return copying ? copyValue(value) : undefined;
}
