// A snapshot merge (a restarted or lagging server catching up) is work in proportion to the whole
// data set. It runs in bounded slices — no slice does more than its budget of work units — and
// the result is exactly that of merging at once, also when writes are made while it runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HybridLogicalClock } from '../../src/core/hlc.js';
import { Replica } from '../../src/store/replication/replica.js';
import { MERGE_UNITS_PER_TURN } from '../../src/store/replication/merge-slices.js';
import { ReplicaHost } from '../../src/store/replication/replica-host.js';
import { packOperations } from '../../src/store/replication/operation-wire.js';
import type { ReplicationMessage, ReplicationTransport } from '../../src/store/replication/replication.js';
import type { ReplicaSnapshot } from '../../src/store/replication/snapshot.js';
import { compareOperations, type Operation } from '../../src/store/replication/operation.js';
import { StoreTables } from '../../src/store/documents/store-tables.js';

const MEMBERS = ['a', 'b', 'c'];

function replica(name: string) {
  return new Replica({ name, members: () => MEMBERS, clock: new HybridLogicalClock(() => 1_000_000) });
}

/** Every member says it holds everything up to `wall`: the log folds there. */
function foldAt(r: Replica, wall: number): void {
  for (const member of MEMBERS) {
    r.noteWatermark(member, { wall, counter: 0 });
    r.noteBeat(member, 0, { wall, counter: 0 });
  }
  r.advance(0);
}

/** Operations of every kind from origin `origin` on `wall`, `wall + 1`, …; a hot counter among them. */
function history(origin: string, count: number, firstWall: number, stores = ['s1', 's2']): Operation[] {
  const ops: Operation[] = [];
  for (let i = 0; i < count; i++) {
    const op: Operation = { store: stores[i % stores.length], origin, seq: i + 1, wall: firstWall + i, counter: 0, kind: 'save', id: `k${i % 997}` };
    if (i % 5 === 0) op.data = { n: i, tags: ['x', i] };
    else if (i % 5 === 1) Object.assign(op, { kind: 'update', id: 'hot', data: { $inc: { n: 1 } } });
    else if (i % 5 === 2) Object.assign(op, { kind: 'update', data: { $push: { tags: i } } });
    else if (i % 5 === 3) op.data = { n: i, expires: true };
    else Object.assign(op, i % 45 === 4 ? { kind: 'remove' } : { kind: 'update', data: { $inc: { n: 2 } } });
    // a creates the counter and, in its log above the frontier, clears s2 once.
    if (origin === 'a' && i === Math.floor(count * 0.8)) Object.assign(op, { kind: 'clear', id: undefined, data: undefined, store: 's2' });
    if (origin === 'a' && i === 0) Object.assign(op, { kind: 'save', id: 'hot', data: { n: 0 } });
    ops.push(op);
  }
  return ops;
}

/** A peer holding a large folded base and a large log above it (a hot counter, saves, pushes, removes, a clear). */
function largeSnapshot(): ReplicaSnapshot {
  const a = replica('a');
  for (const op of A_OPS) a.receive({ ...op });
  foldAt(a, 9_000);
  for (const op of C_OPS) a.receive({ ...op });
  return a.snapshot();
}

const A_OPS = history('a', 12_000, 10);
const C_OPS = history('c', 4_000, 20_000);
const B_OPS = history('b', 600, 15_000);

/** A replica with writes of its own above the snapshot's frontier, and some of c's that the snapshot holds too. */
function withOwnWrites(): Replica {
  const b = replica('b');
  for (const op of B_OPS) b.receive({ ...op });
  for (const op of C_OPS.slice(0, 1_500)) b.receive({ ...op });
  return b;
}

/** What every operation applied once, in the total order, gives: what a merge must arrive at. */
function sequential(ops: Operation[]): Array<[string, Array<[string, unknown, unknown]>]> {
  const tables = new StoreTables();
  for (const op of ops.map((o) => ({ ...o })).sort(compareOperations)) tables.apply(op);
  return stateOf(tables);
}

function stateOf(tables: StoreTables): Array<[string, Array<[string, unknown, unknown]>]> {
  return [...tables.tables].map(([store, table]) => [store, [...table].map(([id, e]) => [id, e.doc, e.expiresAt] as [string, unknown, unknown]).sort()] as [string, Array<[string, unknown, unknown]>]).sort();
}

/** Everything a replica holds, comparable with assert.equal. */
function contents(r: Replica) {
  const snapshot = r.snapshot();
  const state = stateOf(r.state);
  return { state, frontier: snapshot.frontier, base: snapshot.base.map(([s, t]) => [s, t.map(([id, e]) => [id, e.doc]).sort()]).sort(), log: snapshot.log, seen: snapshot.seen.sort(), folded: snapshot.folded.sort(), digest: r.digest() };
}

test('a large snapshot merged in slices: no slice does more than its budget, many slices, the same result as merging at once', () => {
  const snapshot = largeSnapshot();
  const whole = withOwnWrites();
  whole.merge(snapshot);

  const sliced = withOwnWrites();
  const job = sliced.beginMerge(snapshot);
  const budget = 500;
  const slices: number[] = [];
  while (!job.done) slices.push(job.step(budget));
  const items = sliced.finishMerge();

  assert.ok(slices.every((units) => units <= budget), 'no slice over its budget');
  assert.ok(job.unitsDone > 20 * budget, `a large merge (${job.unitsDone} units)`);
  assert.is(slices.length, Math.ceil(job.unitsDone / budget) + (job.unitsDone % budget === 0 ? 1 : 0));
  assert.ok(!sliced.mergeUnderWay);
  assert.equal(contents(sliced), contents(whole));
  assert.equal(contents(sliced).state, sequential([...A_OPS, ...C_OPS, ...B_OPS]), 'every operation once, in order');
  assert.equal(items.filter((item) => item.t === 'table').map((item) => item.t === 'table' && item.store).sort(), ['s1', 's2']);
  assert.is(sliced.state.peek('s1')!.get('hot')!.doc.n, whole.state.peek('s1')!.get('hot')!.doc.n);
  // And it goes on the same way: the same late operation gives the same state on both.
  const late: Operation = { store: 's1', origin: 'c', seq: 4_001, wall: 24_500, counter: 0, kind: 'update', id: 'hot', data: { $inc: { n: 7 } } };
  whole.receive({ ...late });
  sliced.receive({ ...late });
  foldAt(whole, 30_000);
  foldAt(sliced, 30_000);
  assert.equal(contents(sliced), contents(whole));
});

test('writes made while a merge runs: readable at once, then on top of the merged state; folding waits for the merge', () => {
  const snapshot = largeSnapshot();
  const reference = withOwnWrites();
  reference.merge(snapshot);

  const b = withOwnWrites();
  const job = b.beginMerge(snapshot);
  job.step(3_000);
  const writes: Operation[] = [];
  for (let i = 0; i < 50; i++) {
    const save = b.stamp({ store: 's1', kind: 'save', id: `w${i}`, data: { i } });
    b.receive(save);
    const push = b.stamp({ store: 's1', kind: 'update', id: 'k0', data: { $push: { tags: `w${i}` } } });
    b.receive(push);
    assert.equal(b.state.peek('s1')!.get(`w${i}`)!.doc, { i }, 'read-your-writes during the merge');
    assert.ok((b.state.peek('s1')!.get('k0')!.doc.tags as unknown[]).includes(`w${i}`));
    writes.push(save, push);
    job.step(700);
  }
  b.advance(0);
  assert.ok(b.mergeUnderWay, 'advance folds nothing during a merge');
  while (!job.done) job.step(700);
  b.finishMerge();
  for (const op of writes) reference.receive({ ...op });
  assert.equal(contents(b).state, contents(reference).state);
  assert.equal(contents(b).log, contents(reference).log);
  assert.equal(contents(b).state, sequential([...A_OPS, ...C_OPS, ...B_OPS, ...writes]), 'every operation once, in order');
  assert.equal((b.state.peek('s1')!.get('k0')!.doc.tags as unknown[]).slice(-2), ['w48', 'w49']);
});

/** Two hosts' worth of transport, in process: B receives what the test sends it, in order, one message per turn. */
function transportFor(self: string): ReplicationTransport & { deliver(from: string, message: ReplicationMessage): void } {
  let handler: (from: string, message: ReplicationMessage) => void = () => {};
  return {
    self,
    members: () => MEMBERS,
    networkOpen: () => true,
    connected: () => [],
    send() {},
    onMessage: (h) => void (handler = h),
    onPeerUp() {},
    onPeerDown() {},
    deliver: (from, message) => handler(from, message),
  };
}

test('a server merging a snapshot: one slice per turn, later replication messages wait for it, then apply on top', async () => {
  const snapshot = largeSnapshot();
  const host = new ReplicaHost('b');
  try {
    const transport = transportFor('b');
    host.attachTransport(transport);
    transport.deliver('a', { t: 'snapshot', snapshot, transfer: 'all-in-head', parts: 0 });
    const later: Operation = { store: 's1', origin: 'c', seq: 4_001, wall: 24_500, counter: 0, kind: 'update', id: 'hot', data: { $inc: { n: 7 } } };
    transport.deliver('a', { t: 'ops', packed: packOperations([later]) });
    let turns = 0;
    let sawMerging = false;
    while (turns === 0 || host.replica.mergeUnderWay) {
      await new Promise((resolve) => setImmediate(resolve));
      if (host.replica.mergeUnderWay) sawMerging = true;
      assert.ok(++turns < 10_000, 'the merge ends');
    }
    await new Promise((resolve) => setImmediate(resolve));
    const reference = replica('b');
    const whole = reference.merge(snapshot);
    reference.receive({ ...later });
    const units = whole.length && reference.pendingOperations;
    assert.ok(sawMerging && turns > 16_000 / MERGE_UNITS_PER_TURN, `merged over ${turns} turns (${units} operations logged)`);
    assert.equal(contents(host.replica).state, contents(reference).state);
  } finally {
    host.stop();
  }
});

test.run();
