// The request table's id index: a slot per id, a Map for entries that outlive their slot, growth.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PendingById } from '../../src/core/pending-by-id.js';

const entry = (id: number) => ({ id });

test('entries are taken by id, once; unknown ids give undefined', () => {
  const table = new PendingById<{ id: number }>();
  for (let id = 1; id <= 10; id++) table.add(entry(id));
  assert.is(table.size, 10);
  assert.equal(table.take(4), { id: 4 });
  assert.is(table.take(4), undefined);
  assert.is(table.take(99), undefined);
  assert.is(table.size, 9);
  assert.equal(table.all().map((e) => e.id).sort((a, b) => a - b), [1, 2, 3, 5, 6, 7, 8, 9, 10]);
});

test('a request still waiting when its slot comes round again is kept, and found by its id', () => {
  const table = new PendingById<{ id: number }>();
  table.add(entry(1)); // long-lived: never answered while thousands of others come and go
  for (let id = 2; id <= 50_000; id++) {
    table.add(entry(id));
    assert.equal(table.take(id), { id });
  }
  assert.is(table.size, 1);
  assert.equal(table.take(1), { id: 1 });
  assert.is(table.size, 0);
  assert.equal(table.all(), []);
});

test('many outstanding at once (slots grow): every one is kept and taken exactly once, in any order', () => {
  const table = new PendingById<{ id: number }>();
  const count = 20_000;
  for (let id = 1; id <= count; id++) table.add(entry(id));
  assert.is(table.size, count);
  assert.is(new Set(table.all().map((e) => e.id)).size, count);
  // Odd ids first, then even ones backwards: none lost, none taken twice.
  for (let id = 1; id <= count; id += 2) assert.equal(table.take(id), { id });
  for (let id = count; id >= 2; id -= 2) assert.equal(table.take(id), { id });
  assert.is(table.size, 0);
  assert.equal(table.all(), []);
});

test.run();
