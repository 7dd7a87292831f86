/**
 * Copying and comparing stored values. Stored documents are plain data (what the codec carries):
 * objects, arrays, strings, numbers, booleans, null, bigint, Date, Buffer/Uint8Array, Map, Set.
 */
import { isPlainObject } from '../../core/value-kinds.js';

/** Deep copy, so callers can never reach the store's own objects. Faster than structuredClone for small documents. */
export function copyValue<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyValue) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (value instanceof Uint8Array) return (Buffer.isBuffer(value) ? Buffer.from(value) : value.slice()) as T;
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [copyValue(k), copyValue(v)])) as T;
  if (value instanceof Set) return new Set([...value].map(copyValue)) as T;
  // Own keys only (an inherited key is never part of a document), and a '__proto__' own key (from
  // JSON.parse) stays a plain field instead of replacing the copy's prototype.
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = copyValue((value as Record<string, unknown>)[key]);
    if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    else out[key] = item;
  }
  return out as T;
}

/** Structural equality ($addToSet, $pull): key order does not matter, NaN equals NaN. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (Array.isArray(b)) return false;
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepEqual(v, b.get(k))) return false;
    return true;
  }
  if (a instanceof Set || b instanceof Set) {
    if (!(a instanceof Set && b instanceof Set) || a.size !== b.size) return false;
    const rest = [...b];
    return [...a].every((x) => rest.some((y) => deepEqual(x, y)));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as any)[k], (b as any)[k]));
}

/**
 * Freezes a stored document so it can be handed out without a copy (`peek`). Children first: a
 * frozen object's whole tree is frozen, so `Object.isFrozen(doc)` tells whether the document may
 * be shared. Values JavaScript cannot freeze (Map, Set, Date, binary, class instances) leave their
 * ancestors unfrozen, and such documents are copied instead. Returns whether `value` is frozen.
 */
export function deepFreeze(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Object.isFrozen(value)) return true;
  let all = true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!deepFreeze(value[i])) all = false;
  } else if (isPlainObject(value)) {
    for (const key of Object.keys(value)) if (!deepFreeze(value[key])) all = false;
  } else {
    return false;
  }
  if (all) Object.freeze(value);
  return all;
}
