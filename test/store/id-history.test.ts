// IdHistory (a hot id's operations above the frontier, in small sorted blocks) against the plain
// sorted array it replaced: the same order, the same neighbours and slices, the same prefix taken
// at a frontier, whatever order operations arrive in — late arrivals and block splits included.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { compareStamps } from '../../src/core/hlc.js';
import { IdHistory } from '../../src/store/replication/id-history.js';
import { compareOperations, type Operation } from '../../src/store/replication/operation.js';

const ORIGINS = ['a', 'b', 'c'];

/** Operations with colliding walls and counters (the origin breaks ties), some not counter updates. */
const operations = (max: number) => fc.array(fc.record({ origin: fc.constantFrom(...ORIGINS), wall: fc.integer({ min: 0, max: 40 }), counter: fc.integer({ min: 0, max: 3 }), counterUpdate: fc.boolean() }), { minLength: 1, maxLength: max }).map((rows) => {
  const seen = new Set<string>();
  const ops: Operation[] = [];
  for (const row of rows) {
    const key = `${row.wall}/${row.counter}/${row.origin}`;
    if (seen.has(key)) continue;
    seen.add(key);
    ops.push({ store: 's', id: 'x', kind: 'update', origin: row.origin, seq: ops.length + 1, wall: row.wall, counter: row.counter, data: row.counterUpdate ? { $inc: { n: 1 } } : { $push: { l: 1 } } });
  }
  return ops;
});

test('property: inserting in any order gives the sorted order; insert says whether it landed last; before/slice/takeUpTo agree with a sorted array', () => {
  fc.assert(
    fc.property(operations(400).chain((ops) => fc.tuple(fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }), fc.nat(), fc.integer({ min: 0, max: 40 }))), ([order, pick, frontierWall]) => {
      const history = new IdHistory('s', 'x');
      const reference: Operation[] = [];
      for (const op of order) {
        const last = history.insert(op);
        reference.push(op);
        reference.sort(compareOperations);
        assert.is(last, reference[reference.length - 1] === op);
      }
      assert.equal(history.toArray(), reference);
      assert.is(history.size, reference.length);
      assert.is(history.last, reference[reference.length - 1]);
      assert.is(history.orderDependent, reference.filter((op) => op.data!.$push).length);
      const at = pick % reference.length;
      assert.is(history.before(reference[at]), at > 0 ? reference[at - 1] : undefined);
      const frontier = { wall: frontierWall, counter: 1 };
      assert.equal(history.slice(reference[at]), reference.slice(at));
      assert.equal(history.slice(reference[at], frontier), reference.slice(at).filter((op) => compareStamps(op, frontier) <= 0));
      assert.is(history.firstAfter(frontier), reference.find((op) => compareStamps(op, frontier) > 0));
      const taken = history.takeUpTo(frontier);
      assert.equal(taken, reference.filter((op) => compareStamps(op, frontier) <= 0));
      const rest = reference.filter((op) => compareStamps(op, frontier) > 0);
      assert.equal(history.toArray(), rest);
      assert.is(history.size, rest.length);
      assert.is(history.orderDependent, rest.filter((op) => op.data!.$push).length);
    }),
    { numRuns: 200 },
  );
});

test('a hot id: 20,000 operations from 4 servers, each arriving behind the others\' recent ones, stay in total order across many blocks', () => {
  const history = new IdHistory('s', 'hot');
  const all: Operation[] = [];
  // Each server's operation reaches this replica 0–300 operations after others stamped later ones.
  for (let i = 0; i < 20_000; i++) {
    const op: Operation = { store: 's', id: 'hot', kind: 'update', origin: ORIGINS[i % 3], seq: i + 1, wall: i, counter: 0, data: { $inc: { n: 1 } } };
    all.push(op);
  }
  const arrival = all.map((op, i) => ({ op, at: i + ((i * 7919) % 301) })).sort((x, y) => x.at - y.at).map((x) => x.op);
  let late = 0;
  for (const op of arrival) if (!history.insert(op)) late++;
  assert.ok(late > 10_000, `${late} of them arrived late`);
  assert.equal(history.toArray(), all);
  assert.equal(history.takeUpTo({ wall: 9_999, counter: 0 }), all.slice(0, 10_000));
  assert.is(history.before(all[10_000]), undefined);
  assert.equal(history.slice(all[15_000]), all.slice(15_000));
});

test.run();
