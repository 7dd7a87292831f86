// 3 servers × 2 workers on 127.0.0.2/.3/.4 sharing one port. A nests SERVER_CLUSTERING inside
// CPU_CLUSTERING, B the other way round, C like A — so both nestings are exercised.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ServerNode, freePort, loopbackHosts, stopAll } from '../helpers/server-driver.js';

const hosts = loopbackHosts(['A', 'B', 'C']);
let A: ServerNode, B: ServerNode, C: ServerNode;
let nodes: ServerNode[] = [];

test.before(async () => {
  const port = await freePort();
  const env = { FIXTURE_JOB: 'singleton' };
  A = new ServerNode('A', { name: 'A', hosts, port, env });
  B = new ServerNode('B', { name: 'B', hosts, port, nest: 'server-outer', env });
  C = new ServerNode('C', { name: 'C', hosts, port, env });
  nodes = [A, B, C];
  await Promise.all(nodes.map((n) => n.ready(60_000)));
  await Promise.all([A.linkedTo('B', 1, 60_000), A.linkedTo('C', 1, 60_000), B.linkedTo('C', 1, 60_000)]);
});
test.after(async () => {
  await stopAll(nodes);
});

/** A request behind earlier sends proves they were handled (order per sender → receiver). */
async function settle(node: ServerNode, from: number, server: string, worker?: number): Promise<void> {
  const result = await node.run({ from, op: 'request', server, worker, method: 'echo', data: 'sync' });
  assert.ok(result.ok, JSON.stringify(result));
}

test('seed example: A broadcasts Hey!, B and C each handle it exactly once, A does not', async () => {
  const before = nodes.map((n) => n.eventsOf('received').length);
  await A.run({ from: 1, op: 'broadcast', method: 'hey', data: { msg: 'Hey!' } });
  await B.waitFor((e) => e.event === 'received' && e.data?.msg === 'Hey!');
  await C.waitFor((e) => e.event === 'received' && e.data?.msg === 'Hey!');
  // Every worker of B and C has answered a request sent after the broadcast: nothing more is coming.
  for (const node of ['B', 'C']) for (const worker of [1, 2]) await settle(A, 1, node, worker);
  const received = nodes.map((n, i) => n.eventsOf('received').length - before[i]);
  assert.equal(received, [0, 1, 1]);
  assert.equal(B.eventsOf('received').at(-1)!.data, { msg: 'Hey!' });
});

test('send to a named server and worker; request/reply across servers (Promise and callback forms)', async () => {
  await A.run({ from: 2, op: 'send', server: 'C', worker: 2, method: 'hey', data: { to: 'C2' } });
  const [hit] = await C.waitFor((e) => e.event === 'received' && e.data?.to === 'C2');
  assert.is(hit.workerId, 2);
  assert.is(hit.server, 'C');

  const who = await A.run({ from: 1, op: 'request', server: 'B', worker: 2, method: 'whoami' });
  assert.equal([who.value.server, who.value.workerId], ['B', 2]);
  const master = await C.run({ from: 2, op: 'request', server: 'A', worker: 0, method: 'whoami' });
  assert.equal([master.value.server, master.value.workerId], ['A', 0]);
  const viaCallback = await B.run({ from: 1, op: 'sendCallback', server: 'C', method: 'later', data: { ms: 10 } });
  assert.equal(viaCallback.value, { waited: 10 });
  const fromMaster = await B.run({ from: 0, op: 'request', server: 'A', worker: 1, method: 'echo', data: { deep: [1, { x: 'y' }] } });
  assert.equal(fromMaster.value, { deep: [1, { x: 'y' }] });
});

test('without workerId, requests go to workers that registered the method, round-robin', async () => {
  const served = new Set<number>();
  for (let i = 0; i < 4; i++) served.add((await A.run({ from: 1, op: 'request', server: 'C', method: 'whoami' })).value.workerId);
  assert.equal([...served].sort(), [1, 2]);
});

test('broadcast counts are exact: 20 from each server reach every other server once each', async () => {
  const before = nodes.map((n) => n.eventsOf('received').filter((e) => e.data?.round === 'count').length);
  for (const [i, node] of nodes.entries()) {
    for (let n = 0; n < 20; n++) await node.run({ from: (n % 2) + 1, op: 'broadcast', method: 'hey', data: { round: 'count', from: i, n } });
  }
  for (const node of nodes) await node.waitFor((e) => e.event === 'received' && e.data?.round === 'count', before[nodes.indexOf(node)] + 40, 30_000);
  for (const node of nodes) for (const other of ['A', 'B', 'C']) if (other !== node.name) for (const w of [1, 2]) await settle(node, 1, other, w);
  const counts = nodes.map((n) => n.eventsOf('received').filter((e) => e.data?.round === 'count'));
  for (const [i, events] of counts.entries()) {
    assert.is(events.length, 40, `server ${nodes[i].name}`);
    assert.ok(events.every((e) => e.data.from !== i), 'a server does not receive its own broadcast');
    const keys = new Set(events.map((e) => `${e.data.from}:${e.data.n}`));
    assert.is(keys.size, 40, 'no duplicates');
  }
});

test('5,000 messages from one worker to a worker on another server arrive complete and in order', async () => {
  await A.run({ from: 1, op: 'flood', server: 'B', worker: 1, count: 5000, tag: 'A1' });
  const counted = await A.run({ from: 1, op: 'request', server: 'B', worker: 1, method: 'seq-count', data: 'A1' });
  assert.equal(counted.value, { count: 5000, inOrder: true });
});

test('errors cross servers: RemoteError with origin; no handler; unknown server throws at once', async () => {
  const boom = await B.run({ from: 2, op: 'request', server: 'C', worker: 1, method: 'boom' });
  assert.is(boom.error.name, 'RemoteError');
  assert.is(boom.error.remoteName, 'TypeError');
  assert.is(boom.error.origin, 'C worker 1');
  const missing = await B.run({ from: 1, op: 'request', server: 'A', worker: 2, method: 'nope' });
  assert.match(missing.error.message, /no handler for 'nope' on A worker 2/);
  const unknown = await B.run({ from: 1, op: 'sendUnknown' });
  assert.is(unknown.value.name, 'UnknownPeerError');
  const noWorker = await A.run({ from: 1, op: 'request', server: 'C', worker: 9, method: 'echo' });
  assert.is(noWorker.error.remoteName, 'UnknownPeerError');
  assert.match(noWorker.error.message, /no worker 9/);
  const timeout = await A.run({ from: 2, op: 'request', server: 'B', method: 'later', data: { ms: 2000 }, timeoutMs: 100 });
  assert.is(timeout.error.name, 'TimeoutError');
});

test('membership, hosts and clock offsets are visible in workers', async () => {
  assert.equal((await A.run({ from: 2, op: 'connected' })).value, ['B', 'C']);
  assert.equal((await B.run({ from: 1, op: 'connected' })).value, ['A', 'C']);
  const { value } = await C.run({ from: 1, op: 'hosts' });
  assert.is(value.me, 'C');
  assert.is(value.hosts.A, `127.0.0.2:${A.spec.port}`);
  const offsets = (await A.run({ from: 1, op: 'offsets' })).value as Record<string, number>;
  assert.equal(Object.keys(offsets).sort(), ['B', 'C']);
  // One machine, one clock: the estimates must be near zero.
  for (const offset of Object.values(offsets)) assert.ok(Math.abs(offset) < 100, `offset ${offset}`);
  // Workers hear onServerUp too: relayed by their master, so waited for, not assumed to be there already.
  await A.waitFor((e) => e.event === 'server-up' && e.worker === 1 && e.server === 'B', 1, 15_000);
});

test('a cluster that never uses SHARED_STORE runs no store replica: no store timers, no store traffic between servers', async () => {
  for (const node of nodes) {
    const result = await node.run({ from: 0, op: 'storeStarted' });
    assert.equal(result, { ...result, ok: true, value: false }, node.name);
  }
});

test('DISTRIBUTE_PROCESS runs once in the cluster; kill its process and it runs again elsewhere within 5 s', async () => {
  // In the order the job started (the nodes' event lists are per node: the second start may be
  // on a node listed before the first one's).
  const started = () => nodes.flatMap((n) => n.eventsOf('job-started')).sort((a, b) => a.at! - b.at!);
  await A.until(() => (started().length >= 1 ? true : undefined), 30_000, () => 'first job start');
  // Let several report rounds (every 2 s) pass: a second placement would show up here.
  await new Promise((resolve) => setTimeout(resolve, 4500));
  assert.is(started().length, 1, JSON.stringify(started()));
  const [first] = started();
  const killedAt = Date.now();
  process.kill(first.pid!, 'SIGKILL');
  await A.until(() => (started().length >= 2 ? true : undefined), 10_000, () => 'job placed again');
  const second = started()[1];
  assert.ok(second.pid !== first.pid);
  assert.ok(second.at - killedAt < 5000, `placed again after ${second.at - killedAt} ms`);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.is(started().length, 2, 'not started a third time');
});

test.run();
