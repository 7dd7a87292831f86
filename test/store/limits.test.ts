// Store limits, in a process without clustering: each bound fails the call with a clear error
// and writes nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OverflowError, SHARED_STORE, StoreLimitError } from '../../src/index.js';
import { replicaHost } from '../../src/store/store-node.js';

async function rejects(run: () => Promise<unknown>, check: RegExp | (new (...args: any[]) => Error) | ((e: Error) => boolean)): Promise<void> {
  let error: Error | undefined;
  try {
    await run();
  } catch (e) {
    error = e as Error;
  }
  assert.ok(error, 'expected a rejection');
  if (check instanceof RegExp) assert.match(error!.message, check);
  else if (check.prototype instanceof Error) assert.instance(error, check);
  else assert.ok((check as (e: Error) => boolean)(error!), error!.message);
}

test('document size: save and an update that grows past the limit fail with StoreLimitError; nothing is written', async () => {
  SHARED_STORE.configure({ maxDocumentBytes: 1000 });
  const store = SHARED_STORE('lim.size');
  await rejects(() => store.save({ id: 'big', data: { blob: 'x'.repeat(2000) } }), (e: Error) => e instanceof StoreLimitError && /over the 1000-byte limit/.test(e.message));
  assert.is(await store.get('big'), undefined);
  await store.save({ id: 'grow', data: { list: [] } });
  for (let i = 0; i < 5; i++) await store.update({ id: 'grow', data: { $push: { list: 'y'.repeat(100) } } });
  await rejects(() => store.update({ id: 'grow', data: { $push: { list: 'z'.repeat(600) } } }), StoreLimitError);
  assert.is(((await store.get('grow'))!.list as string[]).length, 5, 'the refused update changed nothing');
  SHARED_STORE.configure({ maxDocumentBytes: 1024 * 1024 });
});

test('entries per store: the store refuses a new id past maxEntries; existing ids can still be saved', async () => {
  const store = SHARED_STORE('lim.entries', { maxEntries: 3 });
  for (const id of ['a', 'b', 'c']) await store.save({ id, data: { id } });
  await rejects(() => store.save({ id: 'd', data: {} }), (e: Error) => e instanceof StoreLimitError && /holds 3 entries, its limit \(3\)/.test(e.message));
  await store.save({ id: 'a', data: { again: true } });
  assert.is(await store.count(), 3);
  await store.remove('b');
  await store.save({ id: 'd', data: {} });
  assert.is(await store.count(), 3);
});

test('a server alone in its cluster keeps no replication log: nothing can arrive late, so its writes never wait for acknowledgement', async () => {
  // The bound itself (servers that do not acknowledge) is tested on the replica, in replica.test.ts.
  SHARED_STORE.configure({ maxPendingOperations: 5 });
  try {
    const store = SHARED_STORE('lim.log');
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.save({ id: `k${i}`, data: { i } })));
    assert.equal(outcomes.map((o) => o.status), Array(10).fill('fulfilled'));
    assert.is(replicaHost().replica.pendingOperations, 0);
    assert.is(await store.count(), 10);
  } finally {
    SHARED_STORE.configure({ maxPendingOperations: 1_000_000 });
  }
});

test('bad arguments fail at the call site with a message saying what to pass', async () => {
  const store = SHARED_STORE('lim.args');
  await rejects(() => store.save({ id: '', data: {} }), /non-empty string/);
  await rejects(() => store.save({ id: 'x', data: { a: 1 }, removeAfterSeconds: -1 }), /positive number of seconds/);
  await rejects(() => store.update({ id: 'x', data: 5 as never }), /update data must be an object/);
  assert.throws(() => SHARED_STORE('bad name!'), /not a valid store name/);
  assert.throws(() => SHARED_STORE.configure({ nope: 1 } as never), /unknown store limit/);
});

test.run();
