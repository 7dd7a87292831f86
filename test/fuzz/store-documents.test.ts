// Fuzz: update documents, saved documents and filters as a client could send them (JSON-parsed,
// so `__proto__` arrives as an own key), through the real SHARED_STORE API in one process.
// Every call either works or fails with a documented store error, nothing changes on a refusal,
// no prototype is touched, and each call is bounded in time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { SHARED_STORE } from '../../src/index.js';
import { EncodeError, UnsafeKeyError } from '../../src/core/errors.js';
import { StoreFilterError, StoreLimitError, StoreOperationError } from '../../src/store/store-errors.js';
import { MAX_FILTER_DEPTH } from '../../src/store/documents/filter.js';
import { assertDocumentedError, assertPrototypesUntouched, fuzzParameters, MAX_MS_PER_INPUT } from './fuzz-settings.js';

const store = SHARED_STORE<Record<string, unknown>>('fuzz');
const documented: Array<new (...args: any[]) => Error> = [StoreOperationError, StoreFilterError, StoreLimitError, UnsafeKeyError, EncodeError];

const KEYS = ['a', 'b', 'a.b', 'n', 'list', '$inc', '$push', '$addToSet', '$pull', '$each', '$position', '__proto__', 'constructor', 'prototype',
  'x.__proto__', 'constructor.prototype', '$regex', '$options', '$where', '$expr', '$function', '$gt', '$in', '$elemMatch', '$not', '$and', '$or',
  '$nor', '$size', '$all', '$exists', '$type', '$mod', '$eq', '$ne', '$nin', '$lt', 'toString', 'valueOf', 'hasOwnProperty'];
const leaf = fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constantFrom('__boxwire.TO_DELETE__', 'string', 'number', '(a+)+$', '\\1', -0, 1e308, 2 ** 53, -1));
const { value: hostile } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })), tie('value'), { maxKeys: 4 })),
}));
/** As a client sends it: through JSON text, which is how `__proto__` becomes an own key. */
const fromClient = hostile.map((value) => JSON.parse(JSON.stringify(value) ?? 'null'));

function deep(levels: number, key: string, leafValue: unknown): unknown {
  let value = leafValue;
  for (let i = 0; i < levels; i++) value = key === '[]' ? [value] : { [key]: value };
  return value;
}
const deepInput = fc.tuple(fc.constantFrom(150, 2_000, 50_000), fc.constantFrom('a', '$not', '$elemMatch', '[]', '__proto__', '$and')).map(([levels, key]) => deep(levels, key, 1));

async function settles(what: string, call: () => Promise<unknown>, allowed: Array<new (...args: any[]) => Error> = documented): Promise<boolean> {
  const started = performance.now();
  try {
    await call();
    return true;
  } catch (error) {
    assertDocumentedError(error, allowed, what);
    return false;
  } finally {
    const took = performance.now() - started;
    if (took > MAX_MS_PER_INPUT) throw new Error(`${what} took ${took.toFixed(0)} ms`);
  }
}

test.before(async () => {
  await store.save({ id: 'doc', data: { a: 1, n: 5, list: [1, 2] } });
});

test('update documents: applied or refused with a store error; a refused update changes nothing', async () => {
  await fc.assert(fc.asyncProperty(fc.oneof(fromClient, hostile, deepInput), async (data) => {
    const before = await store.get('doc');
    const applied = await settles('update', () => store.update({ id: 'doc', data: data as Record<string, unknown> }));
    if (!applied) assert.equal(await store.get('doc'), before, 'a refused update changed the document');
    assertPrototypesUntouched();
    if (applied) await store.save({ id: 'doc', data: { a: 1, n: 5, list: [1, 2] } });
  }), fuzzParameters(600));
});

test('saved and created documents: stored as given (own keys only) or refused', async () => {
  await fc.assert(fc.asyncProperty(fc.oneof(fromClient, deepInput), fc.boolean(), async (data, create) => {
    const write = () => (create ? store.create({ id: `c${Math.random()}`, data: data as Record<string, unknown> }) : store.save({ id: 'saved', data: data as Record<string, unknown> }));
    // Data that is not a plain object is a wrong argument: TypeError, as for a wrong id.
    const ok = await settles(create ? 'create' : 'save', write, [...documented, TypeError]);
    if (!ok && (data === null || typeof data !== 'object' || Array.isArray(data))) {
      await store.save({ id: 'saved', data: data as Record<string, unknown> }).then(() => assert.unreachable('accepted'), (error: Error) => assert.match(error.message, /^save: data must be a plain object, got (null|an array|string|number|boolean)/));
    }
    assertPrototypesUntouched();
  }), fuzzParameters(400));
  await store.clear();
  await store.save({ id: 'doc', data: { a: 1, n: 5, list: [1, 2] } });
});

test('filters: all/count/checkExists answer or refuse with StoreFilterError, in bounded time', async () => {
  await fc.assert(fc.asyncProperty(fc.oneof(fromClient, hostile, deepInput), async (filter) => {
    await settles('all', () => store.all(filter as Record<string, unknown>));
    await settles('count', () => store.count(filter as Record<string, unknown>));
    assertPrototypesUntouched();
  }), fuzzParameters(600));
});

test('regressions found by fuzzing: deep filters, $type operands, logical operators without arrays', async () => {
  for (const [filter, message] of [
    [deep(50_000, 'a', 1), `nested more than ${MAX_FILTER_DEPTH} levels`], // was RangeError: Maximum call stack size exceeded
    [{ a: deep(5_000, '$not', 1) }, `nested more than ${MAX_FILTER_DEPTH} levels`],
    [{ a: { $type: [] } }, '$type'], // was TypeError: Right-hand side of 'instanceof' is not callable, at test time
    [{ a: { $type: 'nonsense' } }, '$type'], // was a plain Error from sift at test time
    [{ $and: { a: 1 } }, 'takes an array'], // was "params.map is not a function"
  ] as const) {
    try {
      await store.all(filter as Record<string, unknown>);
      assert.unreachable(`accepted ${JSON.stringify(filter).slice(0, 80)}`);
    } catch (error) {
      assert.instance(error, StoreFilterError);
      assert.match((error as Error).message, message);
    }
  }
  // Comparing against an object without a prototype threw a TypeError inside sift.
  await store.save({ id: 'bare', data: { a: Object.assign(Object.create(null), { x: 1 }) } });
  try {
    await store.all({ a: { $gt: [] } });
  } catch (error) {
    assert.instance(error, StoreFilterError);
  }
  assert.is(await store.count({ a: { $type: 'number' } }), 1);
  assert.is(await store.count({ $or: [{ a: 1 }, { n: 6 }] }), 1);
});

test.run();
