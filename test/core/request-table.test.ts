// The request table: replies settle requests, deadlines reject exactly the unanswered ones with
// TimeoutError (never early), a peer going down rejects exactly its requests, and answered
// requests leave no timer behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OverflowError, PeerDownError, TimeoutError } from '../../src/core/errors.js';
import { RequestTable } from '../../src/core/request-table.js';

const ANY_WORKER = 0xfffe;
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('answered requests settle, and leave no deadline timer behind', async () => {
  const table = new RequestTable();
  const before = timers();
  const opened = Array.from({ length: 100 }, (_, i) => table.open<number>('B', 1, 'm', 30_000 + i * 7));
  assert.ok(timers() > before);
  opened.forEach(({ id }, i) => table.resolve(id, i));
  assert.equal(await Promise.all(opened.map((o) => o.promise)), opened.map((_, i) => i));
  assert.is(table.size, 0);
  assert.ok(timers() <= before, "no deadline timer left");
  assert.is(table.resolve(opened[0].id, 'late'), false, 'a second answer finds nothing');
});

test('only the requests left unanswered time out, with TimeoutError, not before their deadline', async () => {
  const table = new RequestTable();
  const started = Date.now();
  const opened = Array.from({ length: 10 }, () => table.open('B', ANY_WORKER, 'slow', 50));
  opened.filter((_, i) => i % 2 === 0).forEach(({ id }) => table.resolve(id, 'ok'));
  const outcomes = await Promise.allSettled(opened.map((o) => o.promise));
  assert.ok(Date.now() - started >= 50);
  outcomes.forEach((outcome, i) => {
    if (i % 2 === 0) assert.equal(outcome, { status: 'fulfilled', value: 'ok' });
    else {
      assert.is(outcome.status, 'rejected');
      const error = (outcome as PromiseRejectedResult).reason;
      assert.ok(error instanceof TimeoutError);
      assert.match(error.message, /slow/);
    }
  });
  assert.is(table.size, 0);
});

test('a peer going down rejects exactly its requests', async () => {
  const table = new RequestTable();
  const toB = table.open('B', ANY_WORKER, 'm', 30_000);
  const toWorker3 = table.open('', 3, 'm', 30_000);
  const toC = table.open('C', 2, 'm', 30_000);
  const peers: string[] = [];
  const count = table.rejectPeers((peer) => (peers.push(peer), peer.startsWith('B/') || peer === '/3'), (peer) => new PeerDownError(peer));
  assert.is(count, 2);
  assert.equal(peers.sort(), ['/3', 'B/*', 'C/2']);
  for (const { promise } of [toB, toWorker3]) assert.ok(await promise.then(() => false, (e) => e instanceof PeerDownError));
  table.resolve(toC.id, 'fine');
  assert.is(await toC.promise, 'fine');
});

test('the table is bounded', () => {
  const table = new RequestTable(3);
  const opened = Array.from({ length: 3 }, () => table.open('B', 1, 'm', 30_000));
  assert.throws(() => table.open('B', 1, 'm', 30_000), (e: unknown) => e instanceof OverflowError);
  for (const { id } of opened) table.resolve(id, null);
  assert.throws(() => table.open('B', 1, 'm', 0), /positive number/);
});

test('a request with a deadline beyond Node\'s longest timer (30 days) waits; others are not timed out with it', async () => {
  const table = new RequestTable();
  const month = table.open('B', 1, 'month', 30 * 24 * 3600 * 1000);
  const minute = table.open('B', 1, 'minute', 60_000);
  const short = table.open('B', 1, 'short', 50);
  const outcome = await short.promise.then(() => 'answered', (error) => error);
  assert.instance(outcome, TimeoutError);
  // Had the month's timer overflowed (Node fires it after 1 ms), its expiry would have timed out
  // every request due before it, the minute's too, long before the 50 ms one.
  assert.is(table.size, 2);
  table.resolve(month.id, 'm');
  table.resolve(minute.id, 'n');
  assert.equal(await Promise.all([month.promise, minute.promise]), ['m', 'n']);
});

test.run();
