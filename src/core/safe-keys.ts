/**
 * Keys and paths from outside (update paths, document fields, filters, box/method/room/store
 * names, config keys) must never walk into a prototype: `obj['__proto__'].x = 1` sets
 * `Object.prototype.x` in the whole process. One rule everywhere: a key whose dot-separated
 * segments include `__proto__`, `prototype` or `constructor` is refused with UnsafeKeyError.
 */
import { UnsafeKeyError } from './errors.js';
import { isPlainObject } from './value-kinds.js';

const UNSAFE_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

/** True when `key`, or one of its dot-separated segments, is `__proto__`, `prototype` or `constructor`. */
export function isUnsafeKey(key: string): boolean {
  if (UNSAFE_SEGMENTS.has(key)) return true;
  // Every unsafe segment contains 'proto' or 'constructor': most keys leave here.
  if (!key.includes('proto') && !key.includes('constructor')) return false;
  for (const segment of key.split('.')) if (UNSAFE_SEGMENTS.has(segment)) return true;
  return false;
}

/** Throws UnsafeKeyError for an unsafe key; `where` says what was being read ("update path"). */
export function assertSafeKey(key: string, where: string): void {
  if (isUnsafeKey(key)) throw new UnsafeKeyError(where, key);
}

/** Walks plain objects and arrays and refuses any unsafe own key at any depth. */
export function assertSafeKeysDeep(value: unknown, where: string, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 1000) return;
  if (Array.isArray(value)) {
    for (const item of value) assertSafeKeysDeep(item, where, depth + 1);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const key of Object.keys(value)) {
    assertSafeKey(key, where);
    assertSafeKeysDeep((value as Record<string, unknown>)[key], where, depth + 1);
  }
}
