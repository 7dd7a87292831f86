import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CpuApp } from '../helpers/cpu-driver.js';

// workers: 0 — the same API in one process: work() runs here as worker 1 of 1, and
// send/request to 1 (and to the master, 0) reach this same process.
let app: CpuApp;

test.before(async () => {
  app = new CpuApp({ FIXTURE_WORKERS: '0' });
  await app.waitForEvent('ready');
});
test.after(async () => {
  await app.stop();
});

test('work() runs in this process as worker 1 of 1; no process is forked', () => {
  const started = app.events.filter((e) => e.event === 'started');
  assert.is(started.length, 1);
  assert.is(started[0].workerId, 1);
  assert.is(started[0].count, 1);
  assert.is(started[0].pid, app.child.pid);
  assert.is(app.events.find((e) => e.event === 'ready')!.isMaster, false);
});

test('request, send with callback, errors and deadlines behave as when clustered', async () => {
  assert.equal((await app.run({ from: 0, op: 'request', to: 1, method: 'echo', data: { a: [1] } })).value, { a: [1] });
  assert.is((await app.run({ from: 0, op: 'request', to: 0, method: 'whoami' })).value.workerId, 1);
  assert.equal((await app.run({ from: 0, op: 'sendCallback', to: 1, method: 'later', data: { ms: 5 } })).value, { waited: 5 });
  const boom = await app.run({ from: 0, op: 'request', to: 1, method: 'boom' });
  assert.is(boom.error.remoteName, 'TypeError');
  const slow = await app.run({ from: 0, op: 'request', to: 1, method: 'later', data: { ms: 1000 }, timeoutMs: 50 });
  assert.is(slow.error.name, 'TimeoutError');
  const bad = await app.run({ from: 0, op: 'sendBad', to: 1 });
  assert.is(bad.value.fn.name, 'EncodeError');
  assert.is(bad.value.unknownWorker.name, 'UnknownPeerError');
});

test('broadcast reaches nobody (there is no other worker) and in-order delivery holds', async () => {
  await app.run({ from: 0, op: 'broadcast', method: 'receive', data: 1 });
  await app.run({ from: 0, op: 'flood', to: 1, count: 10_000 });
  assert.equal((await app.run({ from: 0, op: 'request', to: 1, method: 'seq-count' })).value, { seen: 10_000, inOrder: true });
  assert.is(app.events.filter((e) => e.event === 'received').length, 0);
});

test.run();
