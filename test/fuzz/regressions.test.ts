// Problems the fuzz tests found, each replayed against real processes (the units are fuzzed in
// the other files here).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Packr } from 'msgpackr';
import WebSocket from 'ws';
import { ServerNode, freePort, stopAll } from '../helpers/server-driver.js';

const KEY = 'fuzz-regression-cluster-key-0123456789abcdef';
const hosts = { M: '127.0.0.2', N: '127.0.0.3' };
let port: number;
let M: ServerNode, N: ServerNode;

test.before(async () => {
  port = await freePort(['127.0.0.2', '127.0.0.3']);
  M = new ServerNode('M', { name: 'M', hosts, port, workers: 0, key: KEY });
  N = new ServerNode('N', { name: 'N', hosts, port, workers: 0, key: KEY });
  await Promise.all([M.ready(), N.ready()]);
  await M.linkedTo('N');
});
test.after(() => stopAll([M, N]));

test('mesh port: an unauthenticated "refused" whose reason has a non-function toString neither crashes the server nor keeps the socket', async () => {
  // msgpackr records decode to plain objects; String({ toString: 'x' }) throws a TypeError, which
  // used to escape the socket's message listener before authentication and kill the master.
  const packr = new Packr({ useRecords: true });
  for (const reason of [{ toString: 'x', valueOf: 1 }, { toString: 1 }]) {
    const ws = new WebSocket(`ws://127.0.0.2:${port}/boxwire`);
    ws.on('error', () => undefined);
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(packr.pack(['bw-refused', reason]), { binary: true });
    // Closed by the server at once (it used to stay open until the pre-auth deadline).
    assert.is(await closed, 4001);
  }
  assert.equal((await N.run({ op: 'request', server: 'M', method: 'echo', data: 'still up' })).value, 'still up');
  assert.equal((await M.run({ op: 'request', server: 'N', method: 'echo', data: 'and linked' })).value, 'and linked');
});

test.run();
