// Replication contract with real processes: exact concurrent increments and sets across 3 servers
// × 2 workers; a partition {A} | {B, C} with writes on both sides, then heal; kill -9 of a worker
// and of a whole server (snapshot on return); TTL agreement under injected clock skew.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareOperations } from '../../src/store/replication/operation.js';
import { startStoreCluster, StoreNode, type StoreCluster } from '../helpers/store-cluster.js';

/** Every process of the cluster, in parallel: the command's value per process. */
async function everywhere(cluster: StoreCluster, command: Record<string, unknown>, timeoutMs?: number) {
  return Promise.all(cluster.processes.map(([node, from]) => node.value({ from, ...command }, timeoutMs)));
}

async function assertAllSee(cluster: StoreCluster, store: string, expect: unknown, timeoutMs = 2000) {
  const outcomes = await everywhere(cluster, { op: 'until', store, expect, timeoutMs });
  outcomes.forEach((o, i) => assert.ok(o.equal, `${cluster.processes[i][0].name}/${cluster.processes[i][1]} sees ${JSON.stringify(expect)} (has ${JSON.stringify(o.value)})`));
  return outcomes;
}

test('3 servers × 2 workers: 500 $inc with distinct amounts and 500 $addToSet each → exact sum and full set everywhere', async () => {
  const cluster = await startStoreCluster('both');
  try {
    const [first] = cluster.processes;
    await first[0].value({ from: first[1], op: 'call', store: 'c.count', method: 'save', args: [{ id: 'hits', data: { total: 0, members: [] } }] });
    await assertAllSee(cluster, 'c.count', { hits: { total: 0, members: [] } });
    const perProcess = 500;
    await Promise.all(cluster.processes.map(([node, from], k) => node.value({ from, op: 'incMany', store: 'c.count', itemId: 'hits', count: perProcess, amountBase: k * perProcess + 1 }, 120_000)));
    const n = cluster.processes.length * perProcess;
    const outcomes = await everywhere(cluster, { op: 'untilCounter', store: 'c.count', itemId: 'hits', expect: { total: (n * (n + 1)) / 2, members: n }, timeoutMs: 20_000 }, 60_000);
    outcomes.forEach((o, i) => assert.ok(o.equal, `process ${i}: ${JSON.stringify(o)}`));
    // Not only the same sum and size: the same document (same set order) in every replica.
    const dumps = await everywhere(cluster, { op: 'dump', store: 'c.count' });
    for (const dump of dumps) assert.equal(dump, dumps[0]);
  } finally {
    await cluster.stop();
  }
});

test('partition {A} | {B, C} with writes on both sides, then heal: every replica equal within 2 s; increments on both sides are all kept', async () => {
  const cluster = await startStoreCluster('server', { partitionable: true });
  const [A, B, C] = cluster.nodes;
  const call = (node: StoreNode, method: string, ...args: unknown[]) => node.value({ from: 0, op: 'call', store: 'p.data', method, args });
  try {
    await Promise.all([A.waitFor((e) => e.event === 'server-up', 2), B.waitFor((e) => e.event === 'server-up', 2)]);
    await call(A, 'save', { id: 'counter', data: { n: 0 } });
    await call(A, 'save', { id: 'shared1', data: { v: 1 } });
    await call(A, 'save', { id: 'shared2', data: { v: 1 } });
    await call(A, 'save', { id: 'conflict', data: { by: 'nobody' } });
    await assertAllSee(cluster, 'p.data', { counter: { n: 0 }, shared1: { v: 1 }, shared2: { v: 1 }, conflict: { by: 'nobody' } });

    for (const proxy of cluster.proxies) proxy.cut('reset');
    await A.waitFor((e) => e.event === 'server-down', 2, 15_000);

    // Side {A}
    await call(A, 'update', { id: 'counter', data: { $inc: { n: 5 } } });
    await call(A, 'save', { id: 'a-only', data: { side: 'A' } });
    await call(A, 'remove', 'shared1');
    await call(A, 'save', { id: 'a-ttl', data: { short: true }, removeAfterSeconds: 0.5 });
    await call(A, 'save', { id: 'conflict', data: { by: 'A' } });
    // Side {B, C}: writes from both servers, and the side converges within itself
    await call(B, 'update', { id: 'counter', data: { $inc: { n: 7 } } });
    await call(C, 'update', { id: 'counter', data: { $inc: { n: 11 } } });
    await call(C, 'save', { id: 'bc-only', data: { side: 'BC' } });
    await call(B, 'update', { id: 'shared2', data: { w: 2 } });
    await call(B, 'save', { id: 'bc-ttl', data: { short: true }, removeAfterSeconds: 0.5 });
    await call(B, 'save', { id: 'conflict', data: { by: 'B' } });
    const sideBC = { counter: { n: 18 }, shared1: { v: 1 }, shared2: { v: 1, w: 2 }, 'bc-only': { side: 'BC' }, conflict: { by: 'B' } };
    for (const node of [B, C]) assert.ok((await node.value({ from: 0, op: 'until', store: 'p.data', expect: sideBC, timeoutMs: 3000 })).equal, `${node.name} before heal`);
    assert.ok((await A.value({ from: 0, op: 'until', store: 'p.data', expect: { counter: { n: 5 }, shared2: { v: 1 }, 'a-only': { side: 'A' }, conflict: { by: 'A' } }, timeoutMs: 3000 })).equal, 'A before heal');

    // The two saves of 'conflict' are concurrent: the one later in (HLC, origin) order wins on
    // every replica. B's came a few ms after A's, but each side stamps with its own estimate of
    // cluster time, which may differ by about as much — so the stamps, not the call order, decide.
    const stampOf = (node: StoreNode) => node.value({ from: 0, op: 'newestUnstable', store: 'p.data', itemId: 'conflict' });
    const [stampA, stampB] = [await stampOf(A), await stampOf(B)];
    assert.ok(stampA && stampB, `both saves still unstable during the partition (${JSON.stringify([stampA, stampB])})`);
    const winner = compareOperations(stampA, stampB) > 0 ? 'A' : 'B'; // (wall, counter, origin): all it reads

    for (const proxy of cluster.proxies) proxy.heal();
    const healedAt = Date.now();
    const merged = { counter: { n: 23 }, shared2: { v: 1, w: 2 }, 'a-only': { side: 'A' }, 'bc-only': { side: 'BC' }, conflict: { by: winner } };
    const outcomes = await assertAllSee(cluster, 'p.data', merged, 2000);
    console.log(`    converged ${Date.now() - healedAt} ms after heal (per replica: ${outcomes.map((o) => o.afterMs).join(', ')} ms)`);
    // Later writes keep flowing both ways.
    await call(A, 'update', { id: 'counter', data: { $inc: { n: 100 } } });
    await assertAllSee(cluster, 'p.data', { ...merged, counter: { n: 123 } });
  } finally {
    await cluster.stop();
  }
});

/** Waits until `pattern` shows up in the node's log (stderr), or fails after `timeoutMs`. */
async function logged(node: StoreNode, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = node.stderr.split('\n').find((l) => pattern.test(l));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`${node.name} never logged ${pattern}:\n${node.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('servers whose work() uses the store link at once and catch up with each other (none goes on alone)', async () => {
  // The fixture's work() reads a store. The port opens before work() and that read waits for the
  // catch-up; servers started together each catch up with a peer rather than waiting out 5 s.
  const cluster = await startStoreCluster('both', { common: { BOXWIRE_LOG: 'info' } });
  try {
    for (const node of cluster.nodes) {
      const line = await logged(node, /"event":"store\.synced"/);
      assert.match(line, /"reason":"caught up with [ABC]"/, `${node.name}: ${line}`);
      assert.not.match(node.stderr, /store\.alone_after_start/);
    }
    const [[A, a], [C, c]] = [cluster.processes[0], cluster.processes[cluster.processes.length - 1]];
    await A.value({ from: a, op: 'call', store: 'boot.check', method: 'save', args: [{ id: 'x', data: { n: 1 } }] });
    assert.ok((await C.value({ from: c, op: 'until', store: 'boot.check', expect: { x: { n: 1 } } })).equal);
  } finally {
    await cluster.stop();
  }
});

test('a server that never uses the store joins replication when a peer does: it holds the data and the peers\' logs fold', async () => {
  const cluster = await startStoreCluster('server', { common: { FIXTURE_NO_STORE_IN_WORK: '1' } });
  const [A, , C] = cluster.nodes;
  try {
    await A.waitFor((e) => e.event === 'server-up', 2, 15_000);
    for (const node of cluster.nodes) assert.equal(await node.value({ from: 0, op: 'replicaState' }), { started: false, pending: null }, `nothing used the store yet on ${node.name}`);
    // Only A uses the store; B and C never call it (the last check on C reads, after the rest).
    await A.value({ from: 0, op: 'call', store: 'lazy.s', method: 'save', args: [{ id: 'x', data: { n: 1 } }] });
    // A's log folds only once every server (C included) reports holding the write.
    const deadline = Date.now() + 10_000;
    let state: { started: boolean; pending: number | null } = await A.value({ from: 0, op: 'replicaState' });
    while (state.pending !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      state = await A.value({ from: 0, op: 'replicaState' });
    }
    assert.equal(state, { started: true, pending: 0 }, 'A folded its log: C acknowledged');
    assert.is((await C.value({ from: 0, op: 'replicaState' })).started, true);
    assert.ok((await C.value({ from: 0, op: 'until', store: 'lazy.s', expect: { x: { n: 1 } } })).equal);
  } finally {
    await cluster.stop();
  }
});

test('kill -9 of a worker, then of a whole server: on return each holds a full snapshot, and the restarted server writes on', async () => {
  const cluster = await startStoreCluster('both');
  const [A, B, C] = cluster.nodes;
  const call = (node: StoreNode, from: number, method: string, ...args: unknown[]) => node.value({ from, op: 'call', store: 'k.data', method, args });
  try {
    await call(A, 1, 'save', { id: 'a', data: { n: 1 } });
    await call(B, 2, 'save', { id: 'b', data: { n: 2 } });
    await assertAllSee(cluster, 'k.data', { a: { n: 1 }, b: { n: 2 } });
    await call(B, 1, 'update', { id: 'a', data: { $inc: { n: 10 } } });
    await assertAllSee(cluster, 'k.data', { a: { n: 11 }, b: { n: 2 } });

    // A worker of B dies; writes continue meanwhile; its replacement gets a snapshot.
    const victim = B.events.filter((e) => e.event === 'started' && e.worker === 2).at(-1)!;
    process.kill(victim.pid!, 'SIGKILL');
    await call(C, 1, 'save', { id: 'c', data: { n: 3 } });
    await B.waitFor((e) => e.event === 'started' && e.worker === 2 && e.pid !== victim.pid, 1, 30_000);
    assert.ok((await B.value({ from: 2, op: 'until', store: 'k.data', expect: { a: { n: 11 }, b: { n: 2 }, c: { n: 3 } } })).equal, 'restarted worker has a snapshot');

    // The whole server B dies (master and workers); A and C keep writing.
    B.kill('SIGKILL');
    await B.exited;
    await A.waitFor((e) => e.event === 'server-down' && e.server === 'B', 1, 15_000);
    await call(A, 2, 'update', { id: 'a', data: { $inc: { n: 100 } } });
    await call(C, 2, 'save', { id: 'while-down', data: { yes: true } });

    const B2 = new StoreNode('B', 'both', B.env);
    cluster.nodes[1] = B2;
    cluster.processes = cluster.processes.map(([node, from]) => [node === B ? B2 : node, from]);
    await B2.ready();
    const expected = { a: { n: 111 }, b: { n: 2 }, c: { n: 3 }, 'while-down': { yes: true } };
    for (const from of [1, 2]) assert.ok((await B2.value({ from, op: 'until', store: 'k.data', expect: expected, timeoutMs: 10_000 })).equal, `restarted server, worker ${from}`);
    // Its new writes (under this life's own origin) reach the others: nothing is mistaken for a duplicate.
    await call(B2, 1, 'update', { id: 'b', data: { $inc: { n: 1000 } } });
    await call(B2, 2, 'save', { id: 'after', data: { from: 'B' } });
    await assertAllSee(cluster, 'k.data', { ...expected, b: { n: 1002 }, after: { from: 'B' } }, 5000);
  } finally {
    await cluster.stop();
  }
});

test('TTL under clock skew (A +0, B +3 s, C −3 s): every replica stops seeing the entry at the same moment', async () => {
  const cluster = await startStoreCluster('server', { env: { B: { BOXWIRE_CLOCK_SKEW_MS: '3000' }, C: { BOXWIRE_CLOCK_SKEW_MS: '-3000' } } });
  const [A, B, C] = cluster.nodes;
  try {
    // Wait until each server has estimated the others' clocks (beats every 200 ms).
    const expectedOffsets = { A: 0, B: -3000, C: 3000 };
    for (const node of cluster.nodes) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const offset = await node.value({ from: 0, op: 'clockOffset' });
        if (Math.abs(offset - expectedOffsets[node.name as 'A' | 'B' | 'C']) < 50) break;
        assert.ok(Date.now() < deadline, `${node.name} offset ${offset}`);
        await node.value({ from: 0, op: 'sleep', ms: 100 });
      }
    }
    const savedAt = Date.now();
    await B.value({ from: 0, op: 'call', store: 't.skew', method: 'save', args: [{ id: 'session', data: { user: 1 }, removeAfterSeconds: 2 }] });
    await Promise.all([A, C].map((node) => node.value({ from: 0, op: 'until', store: 't.skew', itemId: 'session', expect: { user: 1 } })));
    const goneAt = await Promise.all([A, B, C].map((node) => node.value({ from: 0, op: 'whenGone', store: 't.skew', itemId: 'session' })));
    const spread = Math.max(...goneAt) - Math.min(...goneAt);
    console.log(`    gone after ${goneAt.map((t) => t - savedAt).join(', ')} ms (A, B, C); spread ${spread} ms`);
    // Uncorrected, the skewed servers would disagree by 3 s each way; the bound leaves room for a loaded machine.
    assert.ok(spread < 500, `replicas disagree on expiry by ${spread} ms`);
    for (const t of goneAt) assert.ok(t - savedAt > 1500 && t - savedAt < 4000, `expiry after ${t - savedAt} ms, expected about 2000`);
  } finally {
    await cluster.stop();
  }
});

test.run();
