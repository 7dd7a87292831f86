// The outbox: records held for a peer that is down, bounded by envelopes and bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_OUTBOX_BYTES, DEFAULT_OUTBOX_MESSAGES, Outbox } from '../../src/core/outbox.js';
import { BoxwireError, OverflowError } from '../../src/core/errors.js';

const isOverflow = (e: unknown) => e instanceof OverflowError;
const bytes = (n: number, fill = 0) => Buffer.alloc(n, fill);

function drained(outbox: Outbox): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  outbox.drain((target, body, count) => out.push([target, body[0] ?? -1, count]));
  return out;
}

test('defaults: 100,000 envelopes or 64 MiB', () => {
  const outbox = new Outbox('worker 1');
  assert.is(outbox.maxMessages, DEFAULT_OUTBOX_MESSAGES);
  assert.is(outbox.maxBytes, DEFAULT_OUTBOX_BYTES);
  assert.is(DEFAULT_OUTBOX_MESSAGES, 100_000);
  assert.is(DEFAULT_OUTBOX_BYTES, 64 * 1024 * 1024);
});

test('records come out in the order they went in, with targets and counts; drain empties it', () => {
  const outbox = new Outbox('worker 2');
  outbox.push(2, bytes(3, 1), 1);
  outbox.push(0, bytes(5, 2), 4);
  outbox.push(2, bytes(1, 3));
  assert.is(outbox.size, 6);
  assert.is(outbox.byteSize, 9);
  assert.equal(drained(outbox), [[2, 1, 1], [0, 2, 4], [2, 3, 1]]);
  assert.is(outbox.size, 0);
  assert.is(outbox.byteSize, 0);
  assert.equal(drained(outbox), []);
});

test('the envelope limit counts envelopes (a record of 5 counts 5), not records; full means nothing queued', () => {
  const outbox = new Outbox('worker 3', { maxMessages: 10 });
  outbox.push(3, bytes(1, 1), 5);
  outbox.push(3, bytes(1, 2), 5);
  const error = (() => {
    try {
      outbox.push(3, bytes(1, 3), 1);
    } catch (e) {
      return e;
    }
  })();
  assert.instance(error, OverflowError);
  assert.instance(error, BoxwireError);
  assert.is((error as OverflowError).code, 'BOXWIRE_OVERFLOW');
  assert.match((error as Error).message, /the outbox for worker 3 is full \(10 messages or \d+ bytes\); nothing was queued/);
  assert.is(outbox.size, 10);
  assert.is(outbox.overflows, 1);
  // A record that alone exceeds the limit is refused too, and counted.
  assert.throws(() => new Outbox('x', { maxMessages: 3 }).push(0, bytes(1), 4), isOverflow);
  assert.equal(drained(outbox), [[3, 1, 5], [3, 2, 5]]);
});

test('the byte limit: exactly full is accepted, one byte more is refused', () => {
  const outbox = new Outbox('server b', { maxBytes: 100 });
  outbox.push(1, bytes(60));
  outbox.push(1, bytes(40));
  assert.is(outbox.byteSize, 100);
  assert.throws(() => outbox.push(1, bytes(1)), (e: unknown) => e instanceof OverflowError && /server b is full/.test((e as Error).message));
  assert.is(outbox.byteSize, 100);
  assert.throws(() => new Outbox('y', { maxBytes: 10 }).push(0, bytes(11)), isOverflow);
});

test('space comes back after a drain; the overflow count keeps growing (it is a metric)', () => {
  const outbox = new Outbox('worker 4', { maxMessages: 2 });
  outbox.push(4, bytes(1, 1));
  outbox.push(4, bytes(1, 2));
  assert.throws(() => outbox.push(4, bytes(1, 3)), isOverflow);
  assert.throws(() => outbox.push(4, bytes(1, 3)), isOverflow);
  assert.is(outbox.overflows, 2);
  assert.is(outbox.drain(() => {}), 2);
  outbox.push(4, bytes(1, 4));
  outbox.push(4, bytes(1, 5));
  assert.equal(drained(outbox), [[4, 4, 1], [4, 5, 1]]);
  assert.is(outbox.overflows, 2);
});

test('what a delivery queues during a drain (the peer went down again) waits for the next drain', () => {
  const outbox = new Outbox('worker 5');
  for (let n = 1; n <= 3; n++) outbox.push(5, bytes(1, n));
  const delivered: number[] = [];
  outbox.drain((target, body) => {
    delivered.push(body[0]);
    if (body[0] === 2) outbox.push(target, bytes(1, 9));
  });
  assert.equal(delivered, [1, 2, 3]);
  assert.is(outbox.size, 1);
  assert.equal(drained(outbox), [[5, 9, 1]]);
});

test('100,000 single envelopes fit by default; the next one overflows', () => {
  const outbox = new Outbox('worker 6');
  const body = bytes(8);
  for (let n = 0; n < DEFAULT_OUTBOX_MESSAGES; n++) outbox.push(6, body);
  assert.throws(() => outbox.push(6, body), isOverflow);
  assert.is(outbox.drain(() => {}), DEFAULT_OUTBOX_MESSAGES);
});

test.run();
