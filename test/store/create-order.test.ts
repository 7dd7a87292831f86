// store.create in the replica: the verdict (inserted, or a live document was there) is taken at
// the create's place in the total order, so replicas that receive creates, saves, removes, clears
// and expiring writes in any order, with duplicates and in batches, hold the same data — and
// agree with each other on which create inserted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { HybridLogicalClock } from '../../src/core/hlc.js';
import { compareOperations, isWellFormedOperation, type Operation } from '../../src/store/replication/operation.js';
import { operationFromWire, operationToWire } from '../../src/store/replication/operation-wire.js';
import { Replica } from '../../src/store/replication/replica.js';
import { StoreTables, createVerdictOf } from '../../src/store/documents/store-tables.js';

const ORIGINS = ['a', 'b', 'c'];

const row = fc.record({
  origin: fc.constantFrom(...ORIGINS),
  step: fc.integer({ min: 0, max: 2 }),
  kind: fc.constantFrom('create', 'create', 'create', 'save', 'remove', 'update', 'clear'),
  id: fc.constantFrom('x', 'y'),
  ttl: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
});

/** Each origin stamps increasing HLC times; walls collide often, so ties break on the origin. */
const history = fc.array(row, { minLength: 1, maxLength: 40 }).map((rows) => {
  const seq: Record<string, number> = {};
  const wall: Record<string, number> = {};
  return rows.map(({ origin, step, kind, id, ttl }, n): Operation => {
    wall[origin] = (wall[origin] ?? 100) + step;
    seq[origin] = (seq[origin] ?? 0) + 1;
    const op: Operation = { store: 's', origin, seq: seq[origin], wall: wall[origin], counter: seq[origin], kind: kind as Operation['kind'] };
    if (kind !== 'clear') op.id = id;
    if (kind === 'create' || kind === 'save') op.data = { by: `${origin}#${n}` };
    if (kind === 'update') op.data = { $inc: { n: 1 } };
    if ((kind === 'create' || kind === 'save') && ttl !== undefined) op.expiresAt = op.wall + ttl;
    return op;
  });
});

/** Every replica gets its own copies (as from the wire), so verdicts are recorded per replica. */
const copy = (op: Operation) => operationFromWire(operationToWire(op));

function verdicts(ops: Operation[]): string[] {
  return ops.filter((op) => op.kind === 'create').map((op) => `${op.origin}#${op.seq}:${createVerdictOf(op)}`).sort();
}

test('property: creates mixed with saves, removes, updates, clears and TTLs, delivered in any order → equal replicas and equal create verdicts', () => {
  fc.assert(
    fc.property(history.chain((ops) => fc.tuple(fc.constant(ops), fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }), fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }), fc.integer({ min: 1, max: 5 }))), ([ops, orderA, orderB, batch]) => {
      const sequential = ops.map(copy).sort(compareOperations);
      const expected = new StoreTables();
      for (const op of sequential) expected.apply(op);
      const clock = { now: 1_000_000 };
      const single = new Replica({ name: 'a', members: () => ORIGINS, clock: new HybridLogicalClock(() => clock.now) });
      const batched = new Replica({ name: 'b', members: () => ORIGINS, clock: new HybridLogicalClock(() => clock.now) });
      const singleOps = orderA.map(copy);
      for (const op of singleOps) single.receive(op);
      single.receive(singleOps[0]); // a duplicate changes nothing
      const batchedOps = orderB.map(copy);
      for (let i = 0; i < batchedOps.length; i += batch) batched.receiveBatch(batchedOps.slice(i, i + batch));
      assert.equal([...single.state.table('s')].sort(), [...expected.table('s')].sort());
      assert.equal([...batched.state.table('s')].sort(), [...expected.table('s')].sort());
      assert.equal(verdicts(singleOps), verdicts(sequential));
      assert.equal(verdicts(batchedOps), verdicts(sequential));
    }),
    { numRuns: 400 },
  );
});

test('a create that finds a live document changes nothing; an expired one counts as absent; create is a well-formed operation only with data', () => {
  const table = new StoreTables();
  const at = (wall: number, seq: number, kind: Operation['kind'], data?: object, expiresAt?: number): Operation =>
    ({ store: 's', origin: 'a', seq, wall, counter: 0, kind, id: 'k', ...(data ? { data } : {}), ...(expiresAt ? { expiresAt } : {}) }) as Operation;
  const first = at(10, 1, 'create', { v: 1 }, 20);
  assert.is(table.apply(first), 'applied');
  const second = at(15, 2, 'create', { v: 2 });
  assert.is(table.apply(second), 'exists');
  assert.equal(table.table('s').get('k')!.doc, { v: 1 });
  const third = at(20, 3, 'create', { v: 3 });
  assert.is(table.apply(third), 'applied', 'expired at its own time: absent');
  assert.equal(table.table('s').get('k')!.doc, { v: 3 });
  assert.equal([createVerdictOf(first), createVerdictOf(second), createVerdictOf(third)], ['applied', 'exists', 'applied']);
  assert.ok(isWellFormedOperation(third));
  assert.not.ok(isWellFormedOperation({ ...third, data: undefined }));
  assert.not.ok(isWellFormedOperation({ ...third, id: undefined }));
});

test.run();
