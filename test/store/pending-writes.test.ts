import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PendingWrites, type PendingWrite } from '../../src/store/workers/pending-writes.js';

const write = (kind: string, deadline = 0): PendingWrite => ({ resolve: () => {}, reject: () => {}, deadline, kind });

test('writes are numbered in order and taken oldest first, up to where the answer says', () => {
  const pending = new PendingWrites();
  assert.equal([1, 2, 3].map((n) => pending.add(write(`w${n}`))), [1, 2, 3]);
  const taken: number[] = [];
  pending.takeWhile((req) => req <= 2 && taken.push(req) > 0);
  assert.equal(taken, [1, 2]);
  assert.is(pending.size, 1);
  assert.is(pending.add(write('w4')), 4, 'numbers keep counting after the front was taken');
});

test('the newest writes can be taken back (a send that failed) without renumbering the rest', () => {
  const pending = new PendingWrites();
  for (let n = 1; n <= 5; n++) pending.add(write(`w${n}`));
  pending.takeWhile((req) => req === 1);
  assert.equal(pending.takeFrom(4).map((w) => w.kind), ['w4', 'w5']);
  assert.is(pending.size, 2, "w2 and w3 wait");
  assert.is(pending.add(write('w6')), 4);
});

test('a long run of writes answered as they go keeps its numbers across compactions', () => {
  const pending = new PendingWrites();
  let answered = 0;
  for (let n = 1; n <= 10_000; n++) {
    assert.is(pending.add(write('w', n)), n);
    if (n % 7 === 0) pending.takeWhile((req) => (req <= n - 3 ? ++answered > 0 : false));
  }
  pending.takeWhile((_req, w) => w.deadline <= 10_000 && ++answered > 0);
  assert.is(answered, 10_000);
  assert.is(pending.size, 0);
});

test.run();
