// The two checks every layer makes on values it did not create (src/core/value-kinds.ts):
// isPlainObject (config sections, documents, filters, update data) and isThenable (a handler's or
// box method's return value).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isPlainObject, isThenable } from '../../src/core/value-kinds.js';

class Point {
  x = 1;
}

test('isPlainObject: object literals and Object.create(null) objects', () => {
  assert.ok(isPlainObject({}));
  assert.ok(isPlainObject({ a: 1, nested: { b: 2 } }));
  assert.ok(isPlainObject(Object.create(null)));
  assert.ok(isPlainObject(JSON.parse('{"a":1}')));
});

test('isPlainObject: not arrays, class instances, built-ins, functions or primitives', () => {
  for (const value of [[], [1], new Point(), new Date(), new Map(), new Set(), Buffer.from('x'), new Uint8Array(1), /x/, Promise.resolve(), Object.create({}), Object.create(Point.prototype), () => 1, null, undefined, 0, 'x', true, 1n, Symbol('s')]) {
    assert.not.ok(isPlainObject(value), `${String(value?.constructor?.name ?? typeof value)}`);
  }
});

test("isPlainObject: a '__proto__' key from JSON stays a key and does not fool the check", () => {
  const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
  assert.ok(isPlainObject(parsed), 'JSON.parse gives a plain object with an own __proto__ key');
  assert.ok(Object.prototype.hasOwnProperty.call(parsed, '__proto__'));
  assert.is(Object.getPrototypeOf(parsed), Object.prototype);
  assert.is(({} as Record<string, unknown>).polluted, undefined, 'nothing reached Object.prototype');
  // An object whose prototype was replaced (what assigning such a key does) is no longer plain.
  const assigned: Record<string, unknown> = {};
  assigned['__proto__'] = { polluted: true };
  assert.not.ok(isPlainObject(assigned));
});

test('isThenable: promises and objects with a then method; nothing else', () => {
  assert.ok(isThenable(Promise.resolve(1)));
  assert.ok(isThenable({ then: () => undefined }));
  assert.ok(isThenable((async () => 1)()));
  for (const value of [null, undefined, 1, 'then', {}, { then: 1 }, [], () => 1, new Date()]) assert.not.ok(isThenable(value), String(value));
});

test.run();
