// A partition between two servers, made with a TCP proxy the test cuts and heals. A dials B (the
// name that sorts first dials) through the proxy: B's host entry names the proxy, B binds behind it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ServerNode, freePort, stopAll } from '../helpers/server-driver.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

let A: ServerNode, B: ServerNode;
let proxy: TcpProxy;

test.before(async () => {
  const port = await freePort(['127.0.0.2', '127.0.0.3']);
  proxy = new TcpProxy('127.0.0.3', { host: '127.0.0.3', port });
  const proxyPort = await proxy.start();
  const hosts = { A: '127.0.0.2', B: `127.0.0.3:${proxyPort}` };
  // Heartbeats every 500 ms, dead after 2 s: the partition must be noticed by silence alone.
  const options = { heartbeatIntervalMs: 500, deadAfterMs: 2000 };
  A = new ServerNode('A', { name: 'A', hosts, port, workers: 0, options });
  B = new ServerNode('B', { name: 'B', hosts, port, workers: 0, options: { ...options, listen: `127.0.0.3:${port}` } });
  await Promise.all([A.ready(), B.ready()]);
  await Promise.all([A.linkedTo('B'), B.linkedTo('A')]);
  assert.ok(proxy.accepted >= 1, 'the link goes through the proxy');
});
test.after(async () => {
  await stopAll([A, B]);
  await proxy.close();
});

test('a silent partition (packets dropped) is detected by heartbeats on both sides within 5 s', async () => {
  const pending = A.run({ op: 'request', server: 'B', method: 'hang', timeoutMs: 60_000 }, 60_000);
  await B.waitForEvent('hanging');
  const cutAt = Date.now();
  proxy.cut('blackhole');
  const [[aSawDown], [bSawDown]] = await Promise.all([A.downOf('B'), B.downOf('A')]);
  assert.ok(aSawDown.at - cutAt < 5000, `A noticed after ${aSawDown.at - cutAt} ms`);
  assert.ok(bSawDown.at - cutAt < 5000, `B noticed after ${bSawDown.at - cutAt} ms`);
  assert.is((await pending).error.name, 'PeerDownError');
  assert.match(A.stderr, /server\.link_silent/);
});

test('healed: the link comes back by itself and what was sent meanwhile arrives in order', async () => {
  await A.run({ op: 'flood', server: 'B', count: 300, tag: 'during-partition' });
  await B.run({ op: 'flood', server: 'A', count: 200, tag: 'during-partition' });
  proxy.heal();
  await Promise.all([A.linkedTo('B', 2), B.linkedTo('A', 2)]);
  assert.equal((await A.run({ op: 'request', server: 'B', method: 'seq-count', data: 'during-partition' })).value, { count: 300, inOrder: true });
  assert.equal((await B.run({ op: 'request', server: 'A', method: 'seq-count', data: 'during-partition' })).value, { count: 200, inOrder: true });
});

test('a hard partition (connections reset and refused) is seen at once; healed, links return', async () => {
  const cutAt = Date.now();
  proxy.cut('reset');
  const [[down]] = await Promise.all([A.downOf('B', 2), B.downOf('A', 2)]);
  assert.ok(down.at - cutAt < 5000);
  proxy.heal();
  await Promise.all([A.linkedTo('B', 3), B.linkedTo('A', 3)]);
  assert.equal((await B.run({ op: 'request', server: 'A', method: 'echo', data: 'back' })).value, 'back');
});

test.run();
