import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CpuApp } from '../helpers/cpu-driver.js';
import { FixtureProcess } from '../helpers/process-harness.js';

let app: CpuApp;

test.before(async () => {
  app = new CpuApp({ FIXTURE_WORKERS: '3' });
  await app.ready();
});
test.after(async () => {
  await app.stop();
});

test('seed example: worker 1 broadcasts Hey!, every other worker receives it exactly once', async () => {
  const seed = new FixtureProcess('test/fixtures/cpu-seed.ts');
  try {
    await seed.waitForEvent('all-ready');
    const received = await seed.waitForEvent('received', 2);
    // Stop, so nothing more can arrive, then count.
    await seed.stop();
    const all = seed.events.filter((e) => e.event === 'received');
    assert.equal(all.map((e) => e.worker).sort(), [2, 3]);
    assert.equal(received[0].data, { msg: 'Hey!' });
    const started = seed.events.filter((e) => e.event === 'started');
    assert.equal(started.map((e) => e.workerId).sort(), [1, 2, 3]);
    assert.ok(started.every((e) => e.count === 3 && e.isMaster === false));
  } finally {
    await seed.stop();
  }
});

test('request/reply worker→worker, worker→master, master→worker (Promise form)', async () => {
  const data = { n: 1, when: 'x', nested: { list: [1, 2, 3] } };
  assert.equal((await app.run({ from: 1, op: 'request', to: 2, method: 'echo', data })).value, data);
  assert.equal((await app.run({ from: 2, op: 'request', to: 0, method: 'whoami' })).value.workerId, 0);
  assert.equal((await app.run({ from: 0, op: 'request', to: 3, method: 'whoami' })).value.workerId, 3);
  assert.equal((await app.run({ from: 3, op: 'request', to: 3, method: 'whoami' })).value.workerId, 3, 'a worker can call itself');
});

test('send with a reply callback (UPPERCASE form), and reply() from an async handler', async () => {
  const viaCallback = await app.run({ from: 1, op: 'sendCallback', to: 3, method: 'later', data: { ms: 20 } });
  assert.equal(viaCallback.value, { waited: 20 });
  const fromMaster = await app.run({ from: 0, op: 'sendCallback', to: 2, method: 'echo', data: 'hi' });
  assert.equal(fromMaster.value, 'hi');
});

test('a thrown error arrives as RemoteError with the remote name, message and origin; the worker lives on', async () => {
  const result = await app.run({ from: 1, op: 'request', to: 2, method: 'boom' });
  assert.is(result.ok, false);
  assert.is(result.error.name, 'RemoteError');
  assert.is(result.error.remoteName, 'TypeError');
  assert.is(result.error.remoteMessage, 'kaboom');
  assert.is(result.error.origin, 'worker 2');
  assert.equal((await app.run({ from: 1, op: 'request', to: 2, method: 'echo', data: 1 })).value, 1);
});

test('unknown method: the requester gets a RemoteError saying no handler', async () => {
  const result = await app.run({ from: 1, op: 'request', to: 2, method: 'nope' });
  assert.is(result.error.name, 'RemoteError');
  assert.is(result.error.remoteName, 'NoHandlerError');
  assert.match(result.error.message, /no handler for 'nope' on worker 2/);
});

test('fire-and-forget to an unknown method is logged once, not per message', async () => {
  for (let i = 0; i < 5; i++) await app.run({ from: 1, op: 'send', to: 3, method: 'missing-method' });
  // A request behind the sends proves they were all handled (FIFO per sender→receiver).
  await app.run({ from: 1, op: 'request', to: 3, method: 'echo', data: 0 });
  const lines = app.stderr.split('\n').filter((l) => l.includes('message.no_handler') && l.includes('missing-method'));
  assert.is(lines.length, 1);
});

test('a deadline rejects with TimeoutError', async () => {
  const result = await app.run({ from: 1, op: 'request', to: 2, method: 'later', data: { ms: 2000 }, timeoutMs: 100 });
  assert.is(result.error.name, 'TimeoutError');
  assert.is(result.error.code, 'BOXWIRE_TIMEOUT');
});

test('bad input at the call site: unencodable data and unknown worker ids throw, nothing is sent', async () => {
  const { value } = await app.run({ from: 1, op: 'sendBad', to: 2 });
  for (const name of ['fn', 'symbol', 'cycle']) {
    assert.is(value[name].name, 'EncodeError', name);
    assert.match(value[name].message, /nothing was sent/);
  }
  assert.is(value.unknownWorker.name, 'UnknownPeerError');
  assert.match(value.unknownWorker.message, /valid ids are 0 \(master\) and 1\.\.3/);
  const master = await app.run({ from: 0, op: 'request', to: 7, method: 'echo' });
  assert.is(master.error.name, 'UnknownPeerError');
});

test('100,000 messages from one worker to another arrive complete and in order', async () => {
  await app.run({ from: 1, op: 'flood', to: 2, count: 100_000 }, 60_000);
  const counted = await app.run({ from: 1, op: 'request', to: 2, method: 'seq-count' }, 60_000);
  assert.equal(counted.value, { seen: 100_000, inOrder: true });
});

test('the codec round-trips Date, Buffer, Map, Set, nested objects, undefined properties and bigint', async () => {
  // Values travel as JSON between the test and the fixture, so the round trip is checked inside.
  const { decode, encode } = await import('../../src/core/codec.js');
  const value = { d: new Date(5), b: Buffer.from('hi'), u: new Uint8Array([1, 2]), m: new Map<unknown, unknown>([[1, 'a'], ['k', { x: 1 }]]), s: new Set([1, 'x']), nested: { a: [1, { b: undefined }] }, missing: undefined, big: 2n ** 70n, small: 5n };
  const back = decode<typeof value>(encode(value));
  assert.equal(back, value);
  assert.ok(back.m instanceof Map && back.s instanceof Set && back.d instanceof Date);
  assert.ok('missing' in back);
  assert.is(typeof back.small, 'bigint');
});

test.run();
