// A request the master routed to one of its workers itself — to "any worker" of a server, from
// another server or from this server's master — settles with PeerDownError as soon as that worker
// is killed with -9, not by its deadline. The requester cannot know which process took it (it only
// asked "any worker of server B"); the master that routed it does and tells it.
// Two real servers (127.0.0.2/.3), each a master with two forked workers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ServerNode, freePort, loopbackHosts, stopAll } from '../helpers/server-driver.js';

const hosts = loopbackHosts(['A', 'B']);
let A: ServerNode, B: ServerNode;
/** Far beyond any wait below: a TimeoutError here would mean the worker's death went unnoticed. */
const DEADLINE_MS = 120_000;

test.before(async () => {
  const port = await freePort(['127.0.0.2', '127.0.0.3']);
  A = new ServerNode('A', { name: 'A', hosts, port, workers: 2 });
  B = new ServerNode('B', { name: 'B', hosts, port, workers: 2 });
  await Promise.all([A.ready(), B.ready()]);
  await Promise.all([A.linkedTo('B'), B.linkedTo('A')]);
});
test.after(async () => {
  await stopAll([A, B]);
});

async function killWhileHanging(requester: ServerNode, from: number, target: ServerNode, hangingSoFar: number) {
  const pending = requester.run({ from, op: 'request', server: target.name, method: 'hang', timeoutMs: DEADLINE_MS }, DEADLINE_MS + 10_000);
  const hanging = await target.waitForEvent('hanging', hangingSoFar + 1, 30_000);
  const { pid, workerId } = hanging[hangingSoFar];
  assert.ok(pid !== undefined && workerId !== undefined && workerId >= 1, 'the request reached a worker');
  process.kill(pid!, 'SIGKILL');
  return pending;
}

test("a worker of server A asks any worker of B; that worker is killed -9: PeerDownError, not a timeout", async () => {
  const result = await killWhileHanging(A, 1, B, 0);
  assert.is(result.ok, false);
  assert.is(result.error.name, 'PeerDownError', JSON.stringify(result.error));
  assert.is(result.error.code, 'BOXWIRE_PEER_DOWN');
  assert.match(result.error.message, /worker \d of server 'B'/);
  // The link between the servers stayed up, and B answers again once its worker is back.
  const again = await A.run({ from: 1, op: 'request', server: 'B', method: 'echo', data: 'back', timeoutMs: 30_000 }, 40_000);
  assert.is(again.value, 'back');
});

test("A's master asks any worker of B; that worker is killed -9: PeerDownError", async () => {
  const result = await killWhileHanging(A, 0, B, 1);
  assert.is(result.error.name, 'PeerDownError', JSON.stringify(result.error));
});

test("B's master asks any worker of its own server; that worker is killed -9: PeerDownError", async () => {
  const result = await killWhileHanging(B, 0, B, 2);
  assert.is(result.error.name, 'PeerDownError', JSON.stringify(result.error));
});

test("a worker of A asks worker 2 of B by id; B's worker 2 is killed -9: PeerDownError (B tells A)", async () => {
  const pending = A.run({ from: 1, op: 'request', server: 'B', worker: 2, method: 'hang', timeoutMs: DEADLINE_MS }, DEADLINE_MS + 10_000);
  const hanging = await B.waitForEvent('hanging', 4, 30_000);
  assert.is(hanging[3].workerId, 2);
  process.kill(hanging[3].pid!, 'SIGKILL');
  const result = await pending;
  assert.is(result.error.name, 'PeerDownError', JSON.stringify(result.error));
  assert.match(result.error.message, /worker 2 of server 'B'/);
});

test.run();
