/**
 * What kind of value arrived: the two checks every layer makes on data it did not create
 * (a handler's return value, a config section, a document, a client's message).
 */

/**
 * A plain data object: `{…}` or `Object.create(null)` — not an array, a class instance, a Date,
 * Map or Buffer. A `__proto__` own key from JSON.parse does not change the answer (the object's
 * real prototype is still Object.prototype); callers that copy keys must refuse or define such
 * keys themselves (see safe-keys.ts), never assign them.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A Promise or any object with a `then` method (what `await` would wait for). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}
