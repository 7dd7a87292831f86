// Solo servers (no workers) on 127.0.0.2/.3/.4: start order, kill -9 and restart, the outbox bound.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ServerNode, freePort, loopbackHosts, stopAll } from '../helpers/server-driver.js';

const hosts = loopbackHosts(['A', 'B', 'C']);
let port: number;
let A: ServerNode, B: ServerNode, C: ServerNode | undefined;
const outbox = { maxMessages: 100_000, maxBytes: 1 << 20 };

function node(name: string): ServerNode {
  return new ServerNode(name, { name, hosts, port, workers: 0, options: { outbox } });
}

test.before(async () => {
  port = await freePort();
  A = node('A');
  B = node('B');
  await Promise.all([A.ready(), B.ready()]);
  await A.linkedTo('B');
});
test.after(async () => {
  await stopAll([A, B, C]);
});

test('messages sent to a server before it starts arrive after it starts, complete and in order', async () => {
  assert.equal((await A.run({ op: 'connected' })).value, ['B']);
  await A.run({ op: 'flood', server: 'C', count: 3000, tag: 'early-A' });
  await B.run({ op: 'flood', server: 'C', count: 1000, tag: 'early-B' });
  C = node('C');
  await C.ready();
  await Promise.all([A.linkedTo('C'), B.linkedTo('C')]);
  assert.equal((await A.run({ op: 'request', server: 'C', method: 'seq-count', data: 'early-A' })).value, { count: 3000, inOrder: true });
  assert.equal((await B.run({ op: 'request', server: 'C', method: 'seq-count', data: 'early-B' })).value, { count: 1000, inOrder: true });
});

test('kill -9: declared down within 5 s, pending requests rejected, link back by itself, queued messages delivered', async () => {
  const pending = A.run({ op: 'request', server: 'C', method: 'hang', timeoutMs: 60_000 }, 60_000);
  await C!.waitForEvent('hanging');
  const killedAt = Date.now();
  C!.kill('SIGKILL');
  const [down] = await A.downOf('C');
  assert.ok(down.at - killedAt < 5000, `down after ${down.at - killedAt} ms`);
  const rejected = await pending;
  assert.is(rejected.error.name, 'PeerDownError');
  assert.is(rejected.error.code, 'BOXWIRE_PEER_DOWN');
  await B.downOf('C');
  // While C is down: messages queue (bounded), and new requests wait for it.
  await A.run({ op: 'flood', server: 'C', count: 500, tag: 'queued-A' });
  const waiting = A.run({ op: 'request', server: 'C', method: 'echo', data: 'after restart', timeoutMs: 60_000 }, 60_000);
  await C!.exited;
  C = node('C');
  await C.ready();
  await Promise.all([A.linkedTo('C', 2), B.linkedTo('C', 2)]);
  assert.equal((await waiting).value, 'after restart');
  assert.equal((await A.run({ op: 'request', server: 'C', method: 'seq-count', data: 'queued-A' })).value, { count: 500, inOrder: true });
  assert.equal((await C.run({ op: 'connected' })).value, ['A', 'B']);
});

test('the outbox bound holds: a flood to a down server is refused beyond it, memory stays flat', async () => {
  await C!.stop();
  await A.downOf('C', 2);
  // 1 KiB messages against a 1 MiB outbox: about 1000 fit, the rest are refused at the call.
  const first = (await A.run({ op: 'overflow', server: 'C', count: 20_000, bytes: 1024 })).value;
  assert.ok(first.accepted > 500 && first.accepted <= 1024, `accepted ${first.accepted}`);
  assert.is(first.refused, 20_000 - first.accepted);
  assert.is(first.error.name, 'OverflowError');
  assert.match(first.error.message, /outbox for server 'C' is full/);
  const second = (await A.run({ op: 'overflow', server: 'C', count: 20_000, bytes: 1024 })).value;
  assert.is(second.accepted, 0);
  const third = (await A.run({ op: 'overflow', server: 'C', count: 20_000, bytes: 1024 })).value;
  assert.ok(third.rss - first.rss < 32 * 1024 * 1024, `rss grew by ${(third.rss - first.rss) >> 20} MiB`);
  // Everything else keeps working.
  assert.equal((await A.run({ op: 'request', server: 'B', method: 'echo', data: 1 })).value, 1);
});

test.run();
