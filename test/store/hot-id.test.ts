// A hot id written by every server at once, at issue 21's size: 4 real server processes, one
// process each on 127.0.0.2–.5, each making 10,000 $inc on the same id with 100 in flight. Every late
// operation lands behind the others' writes; the replicas must stay responsive (no server is
// declared down by its peers: their heartbeats need the event loop) and end exact and equal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, loopbackHosts } from '../helpers/server-driver.js';
import { StoreNode } from '../helpers/store-cluster.js';

const NAMES = ['A', 'B', 'C', 'D'];
const PER_SERVER = 10_000;

test('4 servers, each 10,000 $inc with 100 in flight on one id: totals exact and equal everywhere, no server declared down', async () => {
  const hosts = loopbackHosts(NAMES);
  const port = await freePort(Object.values(hosts));
  // SERVER_CLUSTERING's default heartbeats, as an app runs them: a link silent for 4 s is down.
  const nodes = NAMES.map((name) => new StoreNode(name, 'server', { FIXTURE_HOSTS: JSON.stringify(hosts), FIXTURE_PORT: String(port), FIXTURE_DEFAULT_HEARTBEATS: '1' }));
  try {
    await Promise.all(nodes.map((node) => node.ready()));
    await Promise.all(nodes.map((node) => node.waitFor((e) => e.event === 'server-up', NAMES.length - 1, 30_000)));
    await nodes[0].value({ from: 0, op: 'call', store: 'hot.counter', method: 'save', args: [{ id: 'hits', data: { n: 0 } }] });
    for (const node of nodes) assert.ok((await node.value({ from: 0, op: 'until', store: 'hot.counter', itemId: 'hits', expect: { n: 0 }, timeoutMs: 10_000 })).equal, `${node.name} sees the counter`);
    if (process.env.BOXWIRE_TEST_VERBOSE) console.log('burst starts', new Date().toISOString());
    // Distinct amounts per write: a lost, doubled or misapplied write changes the sum.
    await Promise.all(nodes.map((node, k) => node.value({ from: 0, op: 'hotIncs', store: 'hot.counter', itemId: 'hits', count: PER_SERVER, amountBase: k * PER_SERVER + 1, inFlight: 100 }, 180_000)));
    const writes = NAMES.length * PER_SERVER;
    const total = (writes * (writes + 1)) / 2;
    for (const node of nodes) {
      const outcome = await node.value({ from: 0, op: 'until', store: 'hot.counter', itemId: 'hits', expect: { n: total }, timeoutMs: 60_000 }, 90_000);
      assert.ok(outcome.equal, `${node.name} has n = ${total} (has ${JSON.stringify(outcome.value)})`);
    }
    // The logs fold once every server acknowledged everything: nothing is left pending anywhere,
    // and the folded state is still the exact total.
    for (const node of nodes) {
      const deadline = Date.now() + 60_000;
      let state = await node.value({ from: 0, op: 'replicaState' });
      while (state.pending !== 0 && Date.now() < deadline) {
        await node.value({ from: 0, op: 'sleep', ms: 50 });
        state = await node.value({ from: 0, op: 'replicaState' });
      }
      assert.is(state.pending, 0, `${node.name} folded its log`);
      assert.equal(await node.value({ from: 0, op: 'call', store: 'hot.counter', method: 'get', args: ['hits'] }), { n: total });
    }
    const downs = nodes.flatMap((node) => node.events.filter((e) => e.event === 'server-down').map((e) => `${node.name} declared ${e.server} down`));
    assert.equal(downs, [], 'no server was declared down during the burst');
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
  }
});

test.run();
