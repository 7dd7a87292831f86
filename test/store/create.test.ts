// store.create (issue 12): insert-if-absent, decided at the create's place in the replicated total
// order. Concurrent creates of one id from every process of 3 servers × 2 workers leave one
// document everywhere, and every caller resolves to that document; a create racing a remove
// resolves the same way on every replica; basics in one server with workers (existing, absent,
// after a remove, TTL, UPPERCASE callbacks, bad input).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startStoreCluster, type StoreCluster, type StoreNode } from '../helpers/store-cluster.js';

async function everywhere(cluster: StoreCluster, command: Record<string, unknown>, timeoutMs?: number) {
  return Promise.all(cluster.processes.map(([node, from]) => node.value({ from, ...command }, timeoutMs)));
}

test('concurrent create of one id from 3 servers × 2 workers: one document everywhere, and every create resolves to it', async () => {
  const cluster = await startStoreCluster('both');
  try {
    const ids = ['init0', 'init1', 'init2', 'init3', 'init4'];
    const results = await Promise.all(ids.map((id) => Promise.all(cluster.processes.map(([node, from]) =>
      node.value({ from, op: 'call', store: 'cr.race', method: 'create', args: [{ id, data: { by: `${node.name}/${from}`, id } }] }, 60_000)))));
    const dumps = await everywhere(cluster, { op: 'dump', store: 'cr.race' });
    for (const dump of dumps) assert.equal(dump, dumps[0], 'every replica holds the same documents');
    const proposals = cluster.processes.map(([node, from]) => `${node.name}/${from}`);
    ids.forEach((id, k) => {
      const winner = dumps[0][id];
      assert.ok(winner && proposals.includes(winner.by), `${id}: one of the proposals won (${JSON.stringify(winner)})`);
      for (const result of results[k]) assert.equal(result, winner, `${id}: every create resolved to the document that won`);
    });
  } finally {
    await cluster.stop();
  }
});

test('create racing remove (3 servers): every replica ends the same, and the create resolved in line with that order', async () => {
  const cluster = await startStoreCluster('server');
  const [A, B, C] = cluster.nodes;
  const call = (node: StoreNode, method: string, ...args: unknown[]) => node.value({ from: 0, op: 'call', store: 'cr.rm', method, args }, 30_000);
  try {
    await Promise.all([A.waitFor((e) => e.event === 'server-up', 2), B.waitFor((e) => e.event === 'server-up', 2), C.waitFor((e) => e.event === 'server-up', 2)]);
    const rounds = 8;
    const expectSaved: Record<string, unknown> = {};
    for (let k = 0; k < rounds; k++) {
      await call(A, 'save', { id: `r${k}`, data: { by: 'original' } });
      expectSaved[`r${k}`] = { by: 'original' };
    }
    const seen = await everywhere(cluster, { op: 'until', store: 'cr.rm', expect: expectSaved, timeoutMs: 5000 });
    seen.forEach((s) => assert.ok(s.equal, JSON.stringify(s)));
    const outcomes = await Promise.all(Array.from({ length: rounds }, (_, k) => Promise.all([
      call(A, 'remove', `r${k}`),
      call(B, 'create', { id: `r${k}`, data: { by: 'B' } }),
    ])));
    // Converged: compare dumps until equal (replication takes a moment), then judge each id.
    let dumps: Array<Record<string, unknown>> = [];
    const deadline = Date.now() + 5000;
    do {
      dumps = await everywhere(cluster, { op: 'dump', store: 'cr.rm' });
    } while (dumps.some((d) => JSON.stringify(d) !== JSON.stringify(dumps[0])) && Date.now() < deadline);
    for (const dump of dumps) assert.equal(dump, dumps[0], 'every replica holds the same documents');
    for (let k = 0; k < rounds; k++) {
      const final = dumps[0][`r${k}`];
      const [, created] = outcomes[k];
      if (final) {
        // Remove first, then the create inserted: it resolved to its own document.
        assert.equal(final, { by: 'B' });
        assert.equal(created, { by: 'B' }, `r${k}: create inserted`);
      } else {
        // The create came first and found the original (changed nothing); the remove then took it.
        assert.not.equal(created, { by: 'B' }, `r${k}: a create ordered before the remove did not insert`);
      }
    }
  } finally {
    await cluster.stop();
  }
});

test('create in one server with workers: absent → inserted, present → the existing document unchanged, after remove → inserted again; TTL; callbacks; bad input', async () => {
  const cluster = await startStoreCluster('cpu');
  const [node] = cluster.nodes;
  const call = (from: number, method: string, ...args: unknown[]) => node.value({ from, op: 'call', store: 'cr.basic', method, args });
  try {
    for (const from of [0, 1]) {
      const id = `doc${from}`;
      assert.equal(await call(from, 'create', { id, data: { n: 1 } }), { n: 1 });
      assert.equal(await call(from === 0 ? 1 : 0, 'create', { id, data: { n: 2 } }), { n: 1 }, 'the existing document, unchanged');
      assert.equal(await call(2, 'get', id), { n: 1 });
      assert.equal(await call(from, 'remove', id), { n: 1 });
      assert.equal(await call(2, 'create', { id, data: { n: 3 } }), { n: 3 }, 'inserted again after a remove');
    }
    assert.equal(await call(1, 'create', { id: 'short', data: { t: 1 }, removeAfterSeconds: 0.3 }), { t: 1 });
    const gone = await node.value({ from: 1, op: 'until', store: 'cr.basic', itemId: 'short', expect: null, timeoutMs: 5000 });
    assert.ok(gone.equal, 'the TTL applies');
    assert.equal(await call(2, 'create', { id: 'short', data: { t: 2 } }), { t: 2 }, 'an expired document counts as absent');
    const viaCallback = await node.value({ from: 1, op: 'callback', store: 'cr.basic', method: 'create', args: [{ id: 'cb', data: { ok: true } }] });
    assert.equal(viaCallback, { success: { ok: true } });
    for (const bad of [[{ id: '', data: {} }], [{ id: 'x', data: [1] }], [{ id: 'x', data: { a: 1 }, removeAfterSeconds: -1 }]]) {
      const result = await node.run({ from: 1, op: 'call', store: 'cr.basic', method: 'create', args: bad });
      assert.is(result.ok, false, JSON.stringify(bad));
      assert.is(result.error.name, 'TypeError');
    }
  } finally {
    await cluster.stop();
  }
});

test.run();
