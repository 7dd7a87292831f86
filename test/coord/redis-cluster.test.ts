// LOCK, QUEUE and UNIQUE_ID on a real 3-master Redis Cluster: every key of one lock, one queue and
// the node ids shares a hash tag, so each script runs on one node.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisClusterHarness } from '../helpers/redis-server.js';
import { configureRedis } from '../../src/redis/redis-settings.js';
import { LOCK, LockBusyError, QUEUE, UNIQUE_ID } from '../../src/index.js';
import { closeCoordination } from '../../src/coord/backend-choice.js';

const cluster = new RedisClusterHarness();

test.before(async () => {
  await cluster.start();
  configureRedis({ cluster: cluster.seeds });
  UNIQUE_ID.configure({ leaseTtlMs: 1_000 });
});

test.after(async () => {
  await closeCoordination();
  await cluster.dispose();
});

test('locks on several names (several slots): mutual exclusion, increasing fences, LockBusyError', async () => {
  // Names with braces ('}' first, '{}', '}{') would change or empty the keys' hash tag if put in
  // keys as they are (CROSSSLOT errors); boxwire escapes them.
  for (const name of ['a', 'orders:42', 'user{7}', '}', '{}', '}{x', 'z-last']) {
    let inside = 0;
    let most = 0;
    const fences: number[] = [];
    await Promise.all([1, 2, 3].map(async () => {
      for (let i = 0; i < 20; i++) {
        await LOCK(name, { ttlMs: 2_000, waitMs: 10_000 }, async (lease) => {
          most = Math.max(most, ++inside);
          fences.push(lease.fence);
          await new Promise((resolve) => setTimeout(resolve, 1));
          inside--;
        });
      }
    }));
    assert.is(most, 1, name);
    for (let i = 1; i < fences.length; i++) assert.ok(fences[i] > fences[i - 1]);
  }
  const busy = await LOCK('a', () => LOCK('a', { waitMs: 50 }, () => 1)).catch((e) => e);
  assert.instance(busy, LockBusyError);
});

test('a queue: delayed and immediate jobs all done once, counts add up', async () => {
  const queue = QUEUE<number>('cluster-queue');
  for (let i = 0; i < 50; i++) await queue.push(i, i % 10 === 0 ? { delayMs: 100 } : undefined);
  const seen = new Set<number>();
  let runs = 0;
  const stop = queue.process((n) => {
    runs++;
    seen.add(n);
  }, { concurrency: 4 });
  const deadline = Date.now() + 20_000;
  while ((await queue.counts()).completed < 50) {
    if (Date.now() > deadline) throw new Error(`counts ${JSON.stringify(await queue.counts())}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await stop();
  assert.is(seen.size, 50);
  assert.is(runs, 50);
  assert.equal(await queue.counts(), { waiting: 0, delayed: 0, active: 0, completed: 50, failed: 0 });
});

test('queues whose names hold braces work on the cluster', async () => {
  for (const name of ['}', '{}', '}{q', '{{q}}']) {
    const queue = QUEUE<number>(name);
    for (let i = 0; i < 5; i++) await queue.push(i, i === 0 ? { delayMs: 50 } : undefined);
    const seen: number[] = [];
    let all!: () => void;
    const done = new Promise<void>((resolve) => (all = resolve));
    const stop = queue.process((n) => {
      seen.push(n);
      if (seen.length === 5) all();
    }, { concurrency: 2 });
    await done;
    await stop();
    assert.equal(seen.sort(), [0, 1, 2, 3, 4], name);
    assert.equal(await queue.counts(), { waiting: 0, delayed: 0, active: 0, completed: 5, failed: 0 }, name);
  }
});

test('UNIQUE_ID leases a node id on the cluster and makes increasing ids', async () => {
  await UNIQUE_ID.ready();
  let last = 0n;
  for (let i = 0; i < 1_000; i++) {
    const id = BigInt(UNIQUE_ID());
    assert.ok(id > last);
    last = id;
  }
});

test.run();
