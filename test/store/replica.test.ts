import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { OverflowError } from '../../src/core/errors.js';
import { HybridLogicalClock } from '../../src/core/hlc.js';
import { compareOperations, isWellFormedOperation, type Operation } from '../../src/store/replication/operation.js';
import { Replica } from '../../src/store/replication/replica.js';
import { StoreTables, isLive, type Entry } from '../../src/store/documents/store-tables.js';
import { SnapshotAssembler, splitSnapshot } from '../../src/store/replication/snapshot.js';

const ORIGINS = ['a', 'b', 'c'];

function replica(name: string, members = ORIGINS, clockAt = { now: 1_000_000 }) {
  return new Replica({ name, members: () => members, clock: new HybridLogicalClock(() => clockAt.now) });
}

/** What reads would see at time `at`: live entries only, per store. */
function visible(tables: StoreTables, at: number): Record<string, Record<string, Entry>> {
  const out: Record<string, Record<string, Entry>> = {};
  for (const [store, table] of tables.tables) {
    const live = [...table].filter(([, e]) => isLive(e, at));
    if (live.length) out[store] = Object.fromEntries(live.sort(([x], [y]) => (x < y ? -1 : 1)));
  }
  return out;
}

function sequential(ops: Operation[]): StoreTables {
  const tables = new StoreTables();
  for (const op of [...ops].sort(compareOperations)) tables.apply(op);
  return tables;
}

const write = fc.record({
  store: fc.constantFrom('s1', 's2'),
  id: fc.constantFrom('x', 'y', 'z'),
  kind: fc.constantFrom('save', 'update', 'update', 'update', 'remove', 'clear'),
  amount: fc.integer({ min: -5, max: 5 }),
  element: fc.constantFrom(1, 2, 'a', { o: 1 }),
  ttl: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
  flavour: fc.constantFrom('inc', 'addToSet', 'push', 'pull', 'merge', 'bad'),
});

/** Random histories: each origin stamps its writes with increasing HLC times; walls collide often. */
const history = fc.array(fc.record({ origin: fc.constantFrom(...ORIGINS), step: fc.integer({ min: 0, max: 3 }), w: write }), { minLength: 1, maxLength: 60, size: 'large' }).map((rows) => {
  const seq: Record<string, number> = {};
  const wall: Record<string, number> = {};
  return rows.map(({ origin, step, w }): Operation => {
    wall[origin] = (wall[origin] ?? 100) + step;
    seq[origin] = (seq[origin] ?? 0) + 1;
    const op: Operation = { store: w.store, origin, seq: seq[origin], wall: wall[origin], counter: seq[origin], kind: w.kind as Operation['kind'] };
    if (w.kind !== 'clear') op.id = w.id;
    if (w.kind === 'save') op.data = { n: w.amount, list: [w.element] };
    if (w.kind === 'update') {
      op.data = w.flavour === 'inc' ? { $inc: { n: w.amount } }
        : w.flavour === 'addToSet' ? { $addToSet: { list: w.element } }
        : w.flavour === 'push' ? { $push: { list: { $each: [w.amount], $position: 0 } } }
        : w.flavour === 'pull' ? { $pull: { list: w.element } }
        : w.flavour === 'merge' ? { m: w.amount }
        : { $push: { n: 1 } }; // fails when n is a number: must be skipped identically everywhere
    }
    if ((w.kind === 'save' || w.kind === 'update') && w.ttl !== undefined) op.expiresAt = op.wall + w.ttl;
    return op;
  });
});

/** A delivery: every operation at least once, in random order, with random duplicates. */
const deliveries = (ops: Operation[]) => fc.tuple(fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }), fc.array(fc.integer({ min: 0, max: ops.length - 1 }), { maxLength: 20 }), fc.array(fc.nat(), { minLength: 1, maxLength: 30 }))
  .map(([order, dupes, positions]) => {
    const list = [...order];
    dupes.forEach((d, i) => list.splice(positions[i % positions.length] % (list.length + 1), 0, ops[d]));
    return list;
  });

test('property: random histories in random order with duplicates (singly and in batches) → every replica equals the sequential replay in (HLC, origin) order', () => {
  fc.assert(
    fc.property(history.chain((ops) => fc.tuple(fc.constant(ops), deliveries(ops), deliveries(ops), deliveries(ops))), ([ops, ...orders]) => {
      const expected = sequential(ops);
      const lastWall = Math.max(...ops.map((o) => o.wall));
      for (const [index, order] of orders.entries()) {
        const r = replica(ORIGINS[index]);
        // One replica takes single operations; the others take batches (replayed once per id).
        if (index === 0) for (const op of order) r.receive(op);
        else for (let i = 0; i < order.length; i += index * 3) r.receiveBatch(order.slice(i, i + index * 3));
        for (const at of [100, lastWall, lastWall + 20, lastWall + 100]) assert.equal(visible(r.state, at), visible(expected, at));
      }
    }),
    { numRuns: 300 },
  );
});

type Message = { to: number; kind: 'op'; op: Operation } | { to: number; kind: 'beat'; from: string; seq: number; stamp: { wall: number; counter: number }; mark: { wall: number; counter: number } };

let runsThatFolded = 0;
let midRunFolds = 0;
const action = fc.oneof(
  fc.record({ type: fc.constant('write' as const), who: fc.integer({ min: 0, max: 2 }), w: write }),
  { arbitrary: fc.record({ type: fc.constant('deliver' as const), pick: fc.nat(), dup: fc.integer({ min: 0, max: 5 }).map((n) => n === 0) }), weight: 8 },
  fc.record({ type: fc.constant('beat' as const), who: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ type: fc.constant('advance' as const), who: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ type: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 15 }) }),
);

test('property: a simulated cluster (writes, beats, folding at the stable frontier, random delivery with duplicates, a restart from a snapshot) ends equal to the sequential replay', () => {
  fc.assert(
    fc.property(fc.array(action, { minLength: 1, maxLength: 300, size: 'large' }), fc.array(fc.integer({ min: -20, max: 20 }), { minLength: 3, maxLength: 3 }), (actions, skews) => {
      const time = { now: 1000 };
      const replicas = ORIGINS.map((name, i) => new Replica({ name, members: () => ORIGINS, clock: new HybridLogicalClock(() => time.now + skews[i]) }));
      const issued: Operation[] = [];
      const inflight: Message[] = [];
      let belowFrontier = 0;
      const deliver = (m: Message) => {
        const r = replicas[m.to];
        if (m.kind === 'op') {
          if (m.op.wall < r.frontier.wall || (m.op.wall === r.frontier.wall && m.op.counter <= r.frontier.counter)) {
            if ((r.digest()[m.op.origin] ?? 0) < m.op.seq) belowFrontier++;
          }
          r.receive(m.op);
        } else {
          r.noteBeat(m.from, m.seq, m.stamp);
          r.noteWatermark(m.from, m.mark);
        }
      };
      for (const a of actions) {
        if (a.type === 'write') {
          const r = replicas[a.who];
          const w = a.w;
          const data = w.kind === 'save' ? { n: w.amount, list: [w.element] } : w.kind === 'update' ? (w.flavour === 'inc' ? { $inc: { n: w.amount } } : w.flavour === 'addToSet' ? { $addToSet: { list: w.element } } : { $pull: { list: w.element } }) : undefined;
          const op = r.stamp({ store: w.store, kind: w.kind as Operation['kind'], id: w.kind === 'clear' ? undefined : w.id, data, expiresAt: w.ttl !== undefined && w.kind !== 'remove' && w.kind !== 'clear' ? time.now + w.ttl : undefined });
          r.receive(op);
          issued.push(op);
          replicas.forEach((_, to) => to !== a.who && inflight.push({ to, kind: 'op', op }));
        } else if (a.type === 'deliver' && inflight.length) {
          const at = a.pick % inflight.length;
          const m = inflight[at];
          if (!a.dup) inflight.splice(at, 1);
          deliver(m);
        } else if (a.type === 'beat') {
          const r = replicas[a.who];
          const mark = r.watermark();
          const stamp = r.clock.now();
          replicas.forEach((_, to) => to !== a.who && inflight.push({ to, kind: 'beat', from: r.name, seq: r.lastSeq, stamp, mark }));
        } else if (a.type === 'advance') {
          replicas[a.who].advance();
        } else if (a.type === 'tick') {
          time.now += a.ms;
        }
      }
      while (inflight.length) deliver(inflight.shift()!);
      if (replicas.some((r) => r.frontier.wall > 0)) midRunFolds++;
      // Settle: two rounds of beats and folding, as the periodic beat would do.
      for (let round = 0; round < 2; round++) {
        replicas.forEach((r, from) => {
          const mark = r.watermark();
          const stamp = r.clock.now();
          replicas.forEach((_, to) => to !== from && inflight.push({ to, kind: 'beat', from: r.name, seq: r.lastSeq, stamp, mark }));
        });
        while (inflight.length) deliver(inflight.shift()!);
        replicas.forEach((r) => r.advance());
      }
      if (replicas.some((r) => r.frontier.wall > 0 && issued.length > 0)) runsThatFolded++;
      assert.is(belowFrontier, 0, 'no operation may arrive below a frontier');
      const expected = sequential(issued);
      const end = time.now + 100;
      // Reads are judged at or after the stable frontier (pruning below it is safe by construction).
      const settled = Math.max(...replicas.map((r) => r.frontier.wall));
      for (const at of [settled, settled + 5, end]) for (const r of replicas) assert.equal(visible(r.state, at), visible(expected, at));
      // A replica that lost its memory is rebuilt from a peer's snapshot plus what the others lack-check.
      const fresh = new Replica({ name: 'b', members: () => ORIGINS, clock: new HybridLogicalClock(() => time.now) });
      fresh.merge(replicas[0].snapshot());
      const missing = replicas[2].missingFor(fresh.digest());
      assert.ok(Array.isArray(missing) && missing.length === 0, 'after the snapshot nothing is missing');
      for (const at of [settled, end]) assert.equal(visible(fresh.state, at), visible(expected, at));
    }),
    { numRuns: 300 },
  );
  assert.ok(runsThatFolded > 100 && midRunFolds > 10, `folding happened in ${runsThatFolded} runs (${midRunFolds} before the end)`);
  assert.ok(true);
});

test('late operation below later ones replays its id; clear replays the store; duplicates are ignored', () => {
  const r = replica('a');
  const op = (o: Partial<Operation>): Operation => ({ store: 's', origin: 'b', seq: 1, wall: 10, counter: 0, kind: 'update', id: 'x', ...o });
  r.receive(op({ origin: 'a', seq: 1, wall: 5, kind: 'save', data: { n: 1 } }));
  r.receive(op({ origin: 'a', seq: 2, wall: 20, data: { $inc: { n: 10 } } }));
  // Not a counter update (a plain field too): its place in the order matters, so it is replayed.
  const late = r.receive(op({ origin: 'b', seq: 1, wall: 10, data: { $inc: { n: 100 }, m: 1 } }));
  assert.is(late.items[0].t, 'entry');
  assert.equal(r.state.table('s').get('x')!.doc, { n: 111, m: 1 });
  r.receive(op({ origin: 'b', seq: 1, wall: 10, data: { $inc: { n: 100 }, m: 1 } }));
  assert.equal(r.state.table('s').get('x')!.doc, { n: 111, m: 1 }, 'a duplicate changes nothing');
  const clear = r.receive(op({ origin: 'c', seq: 1, wall: 15, kind: 'clear', id: undefined }));
  assert.is(clear.items[0].t, 'table');
  assert.equal(r.state.table('s').get('x'), undefined, 'the update at 20 found no document after the clear at 15');
});

test('the replication log is bounded: past maxPending a write fails with OverflowError naming the server behind, until it acknowledges and the log folds', () => {
  const time = { now: 1000 };
  const a = new Replica({ name: 'a', members: () => ['a', 'b'], clock: new HybridLogicalClock(() => time.now), maxPending: () => 5 });
  const write = (i: number) => a.receive(a.stamp({ store: 's', kind: 'save', id: `k${i}`, data: { i } }));
  for (let i = 0; i < 5; i++) write(i);
  assert.is(a.pendingOperations, 5);
  assert.throws(() => write(5), (e: Error) => e instanceof OverflowError && /replication log of 'a' \(5 operations not yet acknowledged by b\)/.test(e.message));
  assert.is(a.state.table('s').size, 5, 'the refused write changed nothing');
  a.advance();
  assert.is(a.pendingOperations, 5, 'b has acknowledged nothing: the log cannot fold');
  // b reports its clock and that it holds everything up to now: the log folds, writes pass again.
  time.now += 10;
  a.noteBeat('b', 0, a.clock.now());
  a.noteWatermark('b', a.clock.now());
  a.advance();
  assert.is(a.pendingOperations, 0);
  write(5);
  assert.is(a.state.table('s').size, 6);
});

test('an operation ahead of a gap waits until the gap is filled; the digest shows contiguous sequences', () => {
  const r = replica('a');
  const op = (seq: number): Operation => ({ store: 's', origin: 'b', seq, wall: seq, counter: 0, kind: 'update', id: 'x', data: { $inc: { n: seq } } });
  r.receive({ ...op(1), kind: 'save', data: { n: 0 } });
  r.receive(op(3));
  assert.equal(r.digest(), { b: 1 });
  r.receive(op(2));
  assert.equal(r.digest(), { b: 3 });
  assert.equal(r.state.table('s').get('x')!.doc, { n: 5 });
});

test('a snapshot larger than a link frame travels in ~1 MiB parts and rebuilds an equal replica', () => {
  const source = replica('a', ['a']);
  const filler = 'x'.repeat(1000);
  for (let i = 0; i < 4000; i++) source.receive(source.stamp({ store: i % 2 ? 's1' : 's2', kind: 'save', id: `k${i}`, data: { i, filler } }));
  source.advance();
  for (let i = 0; i < 10; i++) source.receive(source.stamp({ store: 's1', kind: 'update', id: 'k1', data: { $inc: { i: 1 } } }));
  const { parts, head } = splitSnapshot(source.snapshot(), 't1');
  assert.ok(parts.length >= 4, `${parts.length} parts`);
  const assembler = new SnapshotAssembler();
  assembler.add('a', { transfer: 'stale', entries: [['s1', 'ghost', { doc: { stale: true } }]] });
  for (const part of parts) assembler.add('a', part);
  const fresh = replica('b', ['a', 'b']);
  assert.is(new SnapshotAssembler().finish('a', head, 't1', undefined), undefined, 'a head that does not say how many parts it had is refused');
  fresh.merge(assembler.finish('a', head, 't1', parts.length)!);
  assert.equal(visible(fresh.state, 0), visible(source.state, 0));
  assert.is(fresh.state.table('s1').get('k1')!.doc.i, 11);
  assert.is(fresh.state.table('s1').get('ghost'), undefined, 'parts of an unfinished earlier transfer are discarded');
});

test('a server that restarted alone writes under a fresh origin: nothing it writes is mistaken for a duplicate, and the frontier still advances', () => {
  const time = { now: 1000 };
  const make = (name: string) => new Replica({ name, members: () => ORIGINS, clock: new HybridLogicalClock(() => time.now) });
  const [a, b, c] = ORIGINS.map(make);
  const history: Operation[] = [];
  const everywhere = (op: Operation, ...rs: Replica[]) => rs.forEach((r) => r.receive(op));
  for (let i = 0; i < 3; i++) {
    const op = b.stamp({ store: 's', kind: i ? 'update' : 'save', id: 'x', data: i ? { $inc: { n: 1 } } : { n: 0 } });
    history.push(op);
    everywhere(op, a, b, c);
    time.now++;
  }
  // b restarts and reaches nobody: a fresh origin, then two writes.
  const b2 = make('b');
  b2.useFreshOrigin('r1');
  const mine = [1, 2].map(() => {
    time.now++;
    const op = b2.stamp({ store: 's', kind: 'save', id: `new${time.now}`, data: { by: 'b2' } });
    b2.receive(op);
    return op;
  });
  assert.equal(mine.map((op) => [op.origin, op.seq]), [['b~r1', 1], ['b~r1', 2]]);
  history.push(...mine);
  // The peers come back: b2 gets a's snapshot, a and c get b2's writes.
  b2.merge(a.snapshot());
  for (const op of mine) everywhere(op, a, c);
  const expected = sequential(history);
  for (const r of [a, b2, c]) assert.equal(visible(r.state, time.now), visible(expected, time.now));
  // Beats carry the origin; every member's watermark passes b2's writes, so the frontier moves past them.
  for (let round = 0; round < 2; round++) {
    time.now += 5;
    const beats = [a, b2, c].map((r) => ({ r, origin: r.origin, seq: r.lastSeq, stamp: r.clock.now(), mark: r.watermark() }));
    for (const to of [a, b2, c]) for (const beat of beats) if (beat.r !== to) {
      to.noteBeat(beat.origin, beat.seq, beat.stamp);
      to.noteWatermark(beat.r.name, beat.mark);
    }
    [a, b2, c].forEach((r) => r.advance());
  }
  for (const r of [a, b2, c]) assert.ok(r.frontier.wall >= mine[1].wall && r.pendingOperations === 0, `${r.name} folded (frontier ${r.frontier.wall})`);
});

test('operations from another server are shape-checked before a replica trusts them', () => {
  const good: Operation = { store: 's', origin: 'b', seq: 1, wall: 5, counter: 0, kind: 'update', id: 'x', data: { $inc: { n: 1 } } };
  assert.ok(isWellFormedOperation(good));
  for (const bad of [null, 5, { ...good, seq: 0 }, { ...good, kind: 'drop' }, { ...good, id: undefined }, { ...good, data: [1] }, { ...good, wall: 'x' }, { ...good, expiresAt: Infinity }]) {
    assert.not.ok(isWellFormedOperation(bad), JSON.stringify(bad));
  }
  assert.ok(isWellFormedOperation({ store: 's', origin: 'b', seq: 2, wall: 5, counter: 1, kind: 'clear' }));
});

test.run();
