// The codec: one msgpackr configuration for every link, and the call-site encodability check.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertEncodable, decode, encode } from '../../src/core/codec.js';
import { EncodeError } from '../../src/core/errors.js';

const roundTrip = <T>(value: T): T => decode<T>(encode(value));

function encodeErrorOf(f: () => unknown): EncodeError | undefined {
  try {
    f();
  } catch (error) {
    assert.instance(error, EncodeError, `threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
    return error as EncodeError;
  }
  return undefined;
}

test('plain data round-trips: objects stay objects, Maps stay Maps, bigint stays bigint', () => {
  const value = {
    text: 'héllo ✓', int: 42, neg: -7, float: 1.5, big: 2 ** 53, nan: NaN, inf: -Infinity, yes: true, nothing: null,
    list: [1, 'two', [3]], when: new Date(1_700_000_000_123), bytes: Buffer.from([0, 1, 255]),
    map: new Map<unknown, unknown>([[1, 'a'], ['k', { b: 2 }]]), set: new Set(['x', 'y']),
    i64: -(2n ** 63n), u64: 2n ** 64n - 1n, huge: 2n ** 100n, nested: { a: { b: { c: [{ d: 1 }] } } },
  };
  const back = roundTrip(value);
  assert.equal(back, value);
  assert.ok(Object.getPrototypeOf(back) === Object.prototype, 'a plain object, not a Map');
  assert.instance(back.map, Map);
  assert.instance(back.set, Set);
  assert.is(typeof back.i64, 'bigint');
  assert.instance(back.when, Date);
  assert.instance(back.bytes, Uint8Array);
});

test('typed arrays, RegExp and Error instances travel with their types', () => {
  const floats = roundTrip(new Float64Array([1.5, -2]));
  assert.instance(floats, Float64Array);
  assert.equal([...floats], [1.5, -2]);
  const regexp = roundTrip(/a+b/gi);
  assert.instance(regexp, RegExp);
  assert.is(regexp.source, 'a+b');
  assert.is(regexp.flags, 'gi');
  const error = roundTrip(new TypeError('bad input'));
  assert.instance(error, Error);
  assert.is(error.name, 'TypeError');
  assert.is(error.message, 'bad input');
});

test('functions, symbols and cycles are refused by both the check and the encoder, with EncodeError', () => {
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  const arrayCycle: unknown[] = [];
  arrayCycle.push([arrayCycle]);
  const mapCycle = new Map<string, unknown>();
  mapCycle.set('me', mapCycle);
  const bad: Record<string, [unknown, RegExp]> = {
    function: [() => 1, /a function cannot be sent/],
    'nested function': [{ a: [{ b: () => 1 }] }, /a function cannot be sent/],
    'method (toJSON)': [{ toJSON: () => 'x' }, /a function cannot be sent/],
    'function in a Set': [new Set([() => 1]), /a function cannot be sent/],
    symbol: [Symbol('s'), /symbol/],
    'symbol as a Map key': [new Map([[Symbol('k'), 1]]), /symbol/],
    'object cycle': [cycle, /cycle/],
    'array cycle': [arrayCycle, /cycle/],
    'Map cycle': [mapCycle, /cycle/],
  };
  for (const [name, [value, message]] of Object.entries(bad)) {
    const checked = encodeErrorOf(() => assertEncodable(value));
    assert.ok(checked, `${name}: the check refused it`);
    assert.match(checked!.message, message, `${name}: the check says why`);
    assert.match(checked!.message, /nothing was sent/);
    assert.is(checked!.code, 'BOXWIRE_ENCODE');
    assert.ok(encodeErrorOf(() => encode(value)), `${name}: the encoder refused it`);
  }
});

test('a getter that throws fails the check with EncodeError (what send documents), not a stray error', () => {
  const data = { ok: 1, get broken(): number { throw new Error('getter boom'); } };
  const error = encodeErrorOf(() => assertEncodable(data));
  assert.ok(error);
  assert.match(error!.message, /getter boom/);
  assert.ok(encodeErrorOf(() => encode(data)));
});

test('what the check accepts, the encoder encodes (the check stands in for encoding at the call site)', () => {
  class Point { constructor(public x: number, public y: number) {} }
  const hidden = Object.defineProperty({ shown: 1 }, 'hidden', { value: () => 1, enumerable: false });
  const accepted = [
    0, '', null, undefined, [undefined, 1], { a: undefined }, new Point(1, 2), hidden, [1, , 3],
    { [Symbol('key')]: 'symbol keys are skipped' }, new Date(NaN), Buffer.alloc(0), new ArrayBuffer(4),
    Object.create(null), { __proto__: null, x: 1 }, new Map([[{ k: 1 }, new Set([1])]]),
  ];
  for (const value of accepted) {
    assertEncodable(value);
    decode(encode(value));
  }
  assert.equal(roundTrip(new Point(1, 2)), { x: 1, y: 2 });
  assert.equal(roundTrip(hidden), { shown: 1 });
});

test('nesting: 500 levels are accepted; deeper is refused by the check with a message that says so', () => {
  const nest = (levels: number) => {
    const root: unknown[] = [];
    let at = root;
    for (let i = 0; i < levels; i++) at.push((at = []));
    return root;
  };
  assertEncodable(nest(500));
  assert.equal(roundTrip(nest(500)), nest(500));
  const error = encodeErrorOf(() => assertEncodable(nest(501)));
  assert.match(error!.message, /nested more than 500 levels deep/);
});

test('a key named __proto__ in the data neither becomes the prototype of the decoded object nor pollutes Object', () => {
  const back = roundTrip(JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')) as Record<string, unknown>;
  assert.is(({} as Record<string, unknown>).polluted, undefined);
  assert.is(Object.getPrototypeOf(back), Object.prototype);
  assert.is(back.polluted, undefined);
  assert.is(back.a, 1);
});

test('hostile bytes: truncated, lying lengths, unknown extensions, trailing bytes and deep nesting throw (never hang)', () => {
  const hostile: Record<string, Buffer> = {
    empty: Buffer.alloc(0),
    'array of 2^32-1 items, none present': Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]),
    'map of 2^32-1 entries, none present': Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]),
    'string of 4 GiB, one byte present': Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]),
    'binary of 4 GiB, one byte present': Buffer.from([0xc6, 0xff, 0xff, 0xff, 0xff, 0x61]),
    'unknown extension': Buffer.from([0xd4, 0x01, 0x00]),
    'trailing bytes': Buffer.from([0x01, 0x02]),
    '100,000 nested arrays': Buffer.alloc(100_000, 0x91),
  };
  for (const [name, bytes] of Object.entries(hostile)) assert.throws(() => decode(bytes), (e: unknown) => e instanceof Error, name);
  const valid = encode({ a: [1, 2, 3], b: 'text' });
  for (let cut = 1; cut < valid.length; cut++) assert.throws(() => decode(valid.subarray(0, cut)), (e: unknown) => e instanceof Error, `cut at ${cut}`);
});

test.run();
