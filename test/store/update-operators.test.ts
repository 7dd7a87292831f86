import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TO_DELETE, applyUpdate, validateUpdateData } from '../../src/store/documents/update-operators.js';
import { compileFilter } from '../../src/store/documents/filter.js';
import { StoreFilterError, StoreOperationError } from '../../src/store/store-errors.js';

test('plain fields merge into the document; TO_DELETE deletes one; the input is not modified', () => {
  const doc = { a: 1, b: { c: 2 }, keep: true };
  const next = applyUpdate(doc, { a: 5, b: { d: 3 }, keep: TO_DELETE, n: null });
  assert.equal(next, { a: 5, b: { d: 3 }, n: null });
  assert.equal(doc, { a: 1, b: { c: 2 }, keep: true });
});

test('$inc: a missing field starts from 0, dotted paths, bigint, negative amounts', () => {
  assert.equal(applyUpdate({}, { $inc: { n: 5 } }), { n: 5 });
  assert.equal(applyUpdate({ n: 5 }, { $inc: { n: -7 } }), { n: -2 });
  assert.equal(applyUpdate({}, { $inc: { 'stats.hits': 1 } }), { stats: { hits: 1 } });
  assert.equal(applyUpdate({ big: 2n }, { $inc: { big: 3n } }), { big: 5n });
  assert.throws(() => applyUpdate({ n: 'x' }, { $inc: { n: 1 } }), (e: Error) => e instanceof StoreOperationError && /stored value is string/.test(e.message));
  assert.throws(() => applyUpdate({}, { $inc: { n: '1' } }), /needs a number/);
});

test('$push: a value, { $each }, { $each, $position } (also negative); missing field becomes an array', () => {
  assert.equal(applyUpdate({}, { $push: { l: 1 } }), { l: [1] });
  assert.equal(applyUpdate({ l: [1] }, { $push: { l: { $each: [2, 3] } } }), { l: [1, 2, 3] });
  assert.equal(applyUpdate({ l: [1, 4] }, { $push: { l: { $each: [2, 3], $position: 1 } } }), { l: [1, 2, 3, 4] });
  assert.equal(applyUpdate({ l: [1, 4] }, { $push: { l: { $each: [0], $position: 0 } } }), { l: [0, 1, 4] });
  assert.equal(applyUpdate({ l: [1, 4] }, { $push: { l: { $each: [3], $position: -1 } } }), { l: [1, 3, 4] });
  assert.equal(applyUpdate({ l: [] }, { $push: { l: { x: 1 } } }), { l: [{ x: 1 }] }, 'an object without $each is pushed as a value');
});

test('$addToSet: a value or { $each }, deep equality for objects', () => {
  assert.equal(applyUpdate({ s: [1] }, { $addToSet: { s: 1 } }), { s: [1] });
  assert.equal(applyUpdate({ s: [1] }, { $addToSet: { s: { $each: [1, 2, 2, 3] } } }), { s: [1, 2, 3] });
  const withObjects = applyUpdate({ s: [{ a: 1, b: [1, 2] }] }, { $addToSet: { s: { $each: [{ b: [1, 2], a: 1 }, { a: 2 }] } } });
  assert.equal(withObjects, { s: [{ a: 1, b: [1, 2] }, { a: 2 }] });
  assert.throws(() => applyUpdate({ s: [] }, { $addToSet: { s: { $each: [1], $position: 0 } } }), /unsupported modifier/);
});

test('$pull removes every deep-equal element; a missing field is left alone', () => {
  assert.equal(applyUpdate({ l: [1, { a: 1 }, 2, { a: 1 }] }, { $pull: { l: { a: 1 } } }), { l: [1, 2] });
  assert.equal(applyUpdate({ l: [1, 2, 1] }, { $pull: { l: 1 } }), { l: [2] });
  assert.equal(applyUpdate({}, { $pull: { l: 1 } }), {});
});

test('array operators on a non-array field fail with a clear error naming the field', () => {
  for (const op of ['$push', '$addToSet', '$pull']) {
    assert.throws(() => applyUpdate({ f: 5 }, { [op]: { f: 1 } }), (e: Error) => e instanceof StoreOperationError && e.message.includes(`${op} on 'f' needs an array field`) && e.message.includes('number 5'));
  }
  assert.throws(() => applyUpdate({}, { $rename: { a: 'b' } }), /unknown update operator '\$rename'/);
  assert.throws(() => validateUpdateData(5), /update data must be an object/);
});

test('filters: $gt, $in, $regex, nested paths, $elemMatch', () => {
  const docs = [
    { name: 'ann', age: 31, tags: ['a', 'b'], address: { city: 'Seoul' }, items: [{ sku: 'x', qty: 3 }] },
    { name: 'bob', age: 25, tags: ['c'], address: { city: 'Busan' }, items: [{ sku: 'y', qty: 1 }] },
  ];
  const names = (filter: unknown) => docs.filter(compileFilter(filter)).map((d) => d.name);
  assert.equal(names({ age: { $gt: 30 } }), ['ann']);
  assert.equal(names({ name: { $in: ['bob', 'zed'] } }), ['bob']);
  assert.equal(names({ name: { $regex: '^a' } }), ['ann']);
  assert.equal(names({ name: /^B/i }), ['bob']);
  assert.equal(names({ 'address.city': 'Busan' }), ['bob']);
  assert.equal(names({ items: { $elemMatch: { sku: 'x', qty: { $gte: 2 } } } }), ['ann']);
  assert.equal(names(undefined), ['ann', 'bob']);
});

test('filters that would run code are rejected before sift sees them, and never run', () => {
  let ran = false;
  const spy = () => {
    ran = true;
    return true;
  };
  for (const filter of [{ $where: 'this.age > 1' }, { $where: spy }, { a: spy }, { $or: [{ a: 1 }, { b: { $where: 'x' } }] }, { $expr: { $gt: ['$a', 1] } }]) {
    assert.throws(() => compileFilter(filter), (e: Error) => e instanceof StoreFilterError && /not allowed|is a function/.test(e.message));
  }
  assert.is(ran, false);
  assert.throws(() => compileFilter('name'), /must be a plain object/);
});

test.run();
