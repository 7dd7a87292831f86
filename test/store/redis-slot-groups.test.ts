// Slot groups of the Redis engine in one process against a real redis-server (4 groups here; a
// Redis Cluster uses 16 by default): documents land in their id's group, each group with its own
// feed, all followed on one blocking connection; the entry limit stays store-wide; clear empties
// every group; updates to one id stay exact; and a process configured with another number of
// groups refuses the store instead of seeing half of it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { ConfigError, SHARED_STORE, StoreLimitError } from '../../src/index.js';
import { chosenStoreEngine } from '../../src/store/engines/engine-choice.js';
import { GroupCounts } from '../../src/store/engines/redis/group-counts.js';
import { storeLayout } from '../../src/store/engines/redis/store-keys.js';
import { checkStoreLayout } from '../../src/store/engines/redis/store-layout-check.js';
import { RedisServer } from '../helpers/redis-server.js';

let redis: RedisServer;
let client: Redis;

test.before(async () => {
  redis = await new RedisServer().start();
  client = new Redis(redis.port, redis.host);
  SHARED_STORE.configure({ engine: 'redis', redis: redis.url, slotGroups: 4 });
});

test.after(async () => {
  SHARED_STORE.close();
  client.disconnect();
  await redis.dispose();
});

test('slotGroups: configured in code or the environment; out of range refused', () => {
  assert.is(chosenStoreEngine({ BOXWIRE_STORE_ENGINE: 'redis', BOXWIRE_REDIS_URL: 'redis://127.0.0.1:1' }).slotGroups, 4);
  assert.throws(() => SHARED_STORE.configure({ slotGroups: 0 }), (e: Error) => e instanceof ConfigError && /integer from 1 to 256/.test(e.message));
  assert.throws(() => SHARED_STORE.configure({ slotGroups: 2.5 }), /integer from 1 to 256/);
});

test('documents go to their id\'s group, each group with its own feed; one blocking connection follows them all; every read and write works as with one group', async () => {
  const store = SHARED_STORE('g.docs');
  const layout = storeLayout('g.docs', 4);
  const ids = Array.from({ length: 40 }, (_, i) => `d${i}`);
  await Promise.all(ids.map((id, i) => store.save({ id, data: { i } })));
  for (const id of ids) {
    const keys = layout.groups[layout.groupOf(id)];
    assert.is(Number(await client.exists(keys.docPrefix + id)), 1, `${id} is in its group`);
  }
  const feeds = await Promise.all(layout.groups.map((keys) => client.xlen(keys.feed)));
  assert.ok(feeds.every((n) => n > 0), `every group has its own feed (lengths ${feeds.join(', ')})`);
  assert.is(feeds.reduce((a, b) => a + b, 0), 4, 'writes of one turn: one batch, so one feed entry, per group');
  assert.is(await client.hget(layout.layoutKey, 'groups'), '4');

  assert.is(await store.count(), 40);
  assert.equal(await store.get('d7'), { i: 7 });
  await Promise.all(ids.map((id) => store.update({ id, data: { $inc: { i: 100 } } })));
  assert.equal(await store.get('d7'), { i: 107 }, 'read-your-writes in every group');
  assert.equal(Object.keys((await store.all({ i: { $gte: 130 } }))!).length, 10);
  await store.remove('d0');
  assert.is(await store.checkExists('d0'), false);
  const names = (await redis.cli('CLIENT', 'LIST')).stdout.split('\n').map((line) => /name=(\S*)/.exec(line)?.[1]).filter((name) => name?.startsWith('boxwire:store-feed'));
  assert.equal(names, ['boxwire:store-feed:g.docs'], 'one XREAD over the four feeds');

  await store.clear();
  assert.is(await store.count(), 0);
  const left = await Promise.all(layout.groups.map((keys) => client.zcard(keys.ids)));
  assert.equal(left, [0, 0, 0, 0], 'clear emptied every group in Redis');
  await store.save({ id: 'd1', data: { again: true } });
  assert.equal(await store.all(), { d1: { again: true } });
});

test('the entry limit counts every group: ids in different groups still stop at the limit', async () => {
  const layout = storeLayout('g.limit', 4);
  const byGroup = new Map<number, string>();
  for (let i = 0; byGroup.size < 4; i++) if (!byGroup.has(layout.groupOf(`e${i}`))) byGroup.set(layout.groupOf(`e${i}`), `e${i}`);
  const [a, b, c, d] = [...byGroup.values()];
  const store = SHARED_STORE('g.limit', { maxEntries: 3 });
  for (const id of [a, b, c]) await store.save({ id, data: {} });
  const error = await store.save({ id: d, data: {} }).then(() => undefined, (e: Error) => e);
  assert.ok(error instanceof StoreLimitError && /holds 3 entries, its limit \(3\)/.test(error.message), String(error));
  await store.remove(a);
  await store.save({ id: d, data: {} });
  assert.is(await store.count(), 3);
});

test('a process configured for another number of groups refuses the store (ConfigError) instead of reading half of it', async () => {
  await SHARED_STORE('g.layout').save({ id: 'x', data: {} });
  const asOne = checkStoreLayout(client, storeLayout('g.layout', 1), new GroupCounts(1), Date.now());
  await asOne.then(() => assert.unreachable('accepted'), (e: Error) => assert.ok(e instanceof ConfigError && /holds this store in 4 slot group\(s\), but this process is configured for 1/.test(e.message), e.message));
  // A store written with one group (the original layout) is refused by a process configured for more.
  await client.hset('bw:store:{g.single}:meta', 'epoch', '1', 'seq', '0');
  const error = await SHARED_STORE('g.single').get('x').then(() => undefined, (e: Error) => e);
  assert.ok(error instanceof ConfigError && /holds this store in 1 slot group\(s\), but this process is configured for 4/.test(error.message), String(error));
  const write = await SHARED_STORE('g.single').save({ id: 'x', data: {} }).then(() => undefined, (e: Error) => e);
  assert.ok(write instanceof ConfigError, String(write));
  assert.is(await client.exists(...storeLayout('g.single', 4).groups.map((keys) => keys.meta)), 0, 'nothing was written');
});

test.run();
