// The same SHARED_STORE semantics, asserted on both engines (the in-memory replicated one, and
// Redis on a real redis-server started here) in all four modes: no clustering, CPU clustering
// (2 workers), server clustering (3 servers on 127.0.0.2–.4), both (3 servers × 2 workers) —
// and the Redis engine on a real 3-master Redis Cluster (CPU clustering).
// Writes happen in one process; reads are checked in that process (read-your-writes, at once)
// and in another (another worker, another server) within 2 s.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startStoreCluster, type StoreCluster, type StoreMode, type StoreNode } from '../helpers/store-cluster.js';
import { RedisClusterHarness, RedisServer } from '../helpers/redis-server.js';

type Engine = 'memory' | 'redis' | 'redis-cluster';
const ENGINES: Engine[] = (process.env.STORE_ENGINES?.split(',') as Engine[] | undefined) ?? ['memory', 'redis', 'redis-cluster'];
let redis: RedisServer | undefined;
let redisCluster: RedisClusterHarness | undefined;

/** The environment that selects the engine in every process of the cluster (Redis: emptied between runs). */
async function engineEnv(engine: Engine): Promise<Record<string, string>> {
  if (engine === 'memory') return {};
  if (engine === 'redis-cluster') {
    redisCluster ??= await new RedisClusterHarness().start();
    await Promise.all(redisCluster.nodes.map((node) => node.cli('FLUSHALL')));
    return { BOXWIRE_STORE_ENGINE: 'redis', BOXWIRE_REDIS_CLUSTER: redisCluster.seeds.join(',') };
  }
  redis ??= await new RedisServer().start();
  await redis.cli('FLUSHALL');
  return { BOXWIRE_STORE_ENGINE: 'redis', BOXWIRE_REDIS_URL: redis.url };
}

test.after(async () => {
  await redis?.dispose();
  await redisCluster?.dispose();
});

const MODES: StoreMode[] = ['solo', 'cpu', 'server', 'both'];

const RUNS: Array<[StoreMode, string, Record<string, string>]> = [
  ...MODES.map((mode): [StoreMode, string, Record<string, string>] => [mode, mode, {}]),
  // UPPERCASE nesting: the master gets its mesh only when a worker asks for it, after stores may be in use.
  ['both', 'both, SERVER_CLUSTERING inside CPU_CLUSTERING', { STORE_NEST: 'cpu-outer' }],
];

for (const engine of ENGINES) {
  // On a Redis Cluster what differs is only where keys live: one run, CPU clustering.
  for (const [mode, label, common] of engine === 'redis-cluster' ? RUNS.filter(([m, l]) => m === 'cpu' && l === 'cpu') : RUNS) {
    test(`${engine} engine, ${label}: every store semantic`, async () => {
      const cluster = await startStoreCluster(mode, { common: { ...common, ...(await engineEnv(engine)) } });
      try {
        await semantics(cluster, engine);
      } finally {
        await cluster.stop();
      }
    });
  }
}

async function semantics(cluster: StoreCluster, engine: Engine): Promise<void> {
  const [[writerNode, writer], [readerNode, reader]] = [cluster.processes[0], cluster.processes[cluster.processes.length - 1]];
  const call = (store: string, method: string, ...args: unknown[]) => writerNode.value({ from: writer, op: 'call', store, method, args });
  const seenElsewhere = async (store: string, expect: unknown, itemId?: string) => {
    for (const [node, from] of cluster.processes) {
      const outcome = await node.value({ from, op: 'until', store, expect, itemId, timeoutMs: 2000 });
      assert.ok(outcome.equal, `${node.name}/${from} sees ${JSON.stringify(expect)} in ${store} (has ${JSON.stringify(outcome.value)})`);
    }
  };
  const TO_DELETE = await writerNode.value({ from: writer, op: 'toDelete' });

  // save / get / read-your-writes / other processes
  assert.equal(await call('s.basic', 'save', { id: 'u1', data: { name: 'ann', age: 31 } }), { name: 'ann', age: 31 });
  assert.equal(await call('s.basic', 'get', 'u1'), { name: 'ann', age: 31 }, 'read-your-writes');
  await seenElsewhere('s.basic', { u1: { name: 'ann', age: 31 } });

  // update: merge, TO_DELETE, $inc from 0, $push ($each/$position), $addToSet (deep), $pull (deep)
  assert.equal(await call('s.basic', 'update', { id: 'u1', data: { city: 'Seoul', age: TO_DELETE } }), { name: 'ann', city: 'Seoul' });
  assert.equal(await call('s.basic', 'update', { id: 'u1', data: { $inc: { visits: 3 } } }), { name: 'ann', city: 'Seoul', visits: 3 });
  await call('s.basic', 'update', { id: 'u1', data: { $push: { log: 'b' } } });
  await call('s.basic', 'update', { id: 'u1', data: { $push: { log: { $each: ['a'], $position: 0 } } } });
  await call('s.basic', 'update', { id: 'u1', data: { $push: { log: { $each: ['c', 'd'] } } } });
  await call('s.basic', 'update', { id: 'u1', data: { $addToSet: { tags: { $each: [{ k: 1, v: [1] }, 'x'] } } } });
  await call('s.basic', 'update', { id: 'u1', data: { $addToSet: { tags: { v: [1], k: 1 } } } });
  const afterPull = await call('s.basic', 'update', { id: 'u1', data: { $pull: { tags: { v: [1], k: 1 }, log: 'c' } } });
  assert.equal(afterPull, { name: 'ann', city: 'Seoul', visits: 3, log: ['a', 'b', 'd'], tags: ['x'] });
  await seenElsewhere('s.basic', afterPull, 'u1');

  // operator on a non-array field → clear error, nothing changed
  const bad = await writerNode.run({ from: writer, op: 'call', store: 's.basic', method: 'update', args: [{ id: 'u1', data: { $push: { visits: 1 } } }] });
  assert.is(bad.ok, false);
  assert.is(bad.error.name, 'StoreOperationError');
  assert.match(bad.error.message, /\$push on 'visits' needs an array field/);
  assert.equal(await call('s.basic', 'get', 'u1'), afterPull);

  // update of a missing id → undefined (Promise) / notExists (callback); get/remove of missing
  assert.is(await call('s.basic', 'update', { id: 'ghost', data: { a: 1 } }), undefined);
  assert.is(await writerNode.value({ from: writer, op: 'callback', store: 's.basic', method: 'update', args: [{ id: 'ghost', data: { a: 1 } }] }), 'notExists');
  assert.is(await writerNode.value({ from: writer, op: 'callback', store: 's.basic', method: 'get', args: ['ghost'] }), 'notExists');
  assert.equal(await writerNode.value({ from: writer, op: 'callback', store: 's.basic', method: 'get', args: ['u1'] }), { success: afterPull });
  assert.is(await call('s.basic', 'remove', 'ghost'), undefined);
  assert.is(await call('s.basic', 'get', 'ghost'), undefined);

  // writes issued in the same tick (one batch from a worker): each gets its own answer, in order
  const sameTick = await writerNode.value({ from: writer, op: 'sameTick', store: 's.tick' });
  assert.equal(sameTick.outcomes.slice(0, 2), [{ value: { n: 1 } }, { value: null }]);
  assert.is(sameTick.outcomes[2].error.name, 'StoreOperationError');
  assert.equal(sameTick.outcomes.slice(3), [{ value: { n: 1 } }, { value: { m: 2 } }]);
  assert.equal([sameTick.a, sameTick.b], [null, { m: 2 }]);

  // data msgpack cannot carry (a function, a symbol, a class holding a function) is refused at the
  // call with EncodeError; the writes around it in the same batch land
  const refused = await writerNode.value({ from: writer, op: 'badData', store: 's.bad' });
  assert.equal(refused, { described: ['ok', 'EncodeError', 'EncodeError', 'EncodeError', 'ok'], before: { n: 1 }, after: { n: 2 }, fn: null });

  // a worker holds only the stores it reads: one it only writes is never sent to it, yet its
  // update resolves to the document and its first read loads the store, its writes included
  const writeOnly = await writerNode.value({ from: writer, op: 'writeOnly', store: 's.writeOnly' });
  const doc = { n: 2, tags: ['a', 'b'] };
  assert.equal([writeOnly.updated, writeOnly.read, writeOnly.heldAfterRead], [doc, doc, true]);
  // The in-memory engine's master or lone process holds every store (it is the server's replica);
  // on Redis no process holds a store it has not read.
  assert.is(writeOnly.heldBeforeRead, engine === 'memory' && writer === 0, 'a process holds only the stores it reads (and a replica host every store)');
  await seenElsewhere('s.writeOnly', { w: doc });

  // peek: the stored object itself, frozen (mutation throws, nothing changes); a Map inside → a copy
  const peeked = await writerNode.value({ from: writer, op: 'peek', store: 's.peek' });
  assert.equal(peeked.doc, { list: [1], nested: { a: 1 } });
  assert.equal([peeked.refused, peeked.frozen, peeked.same, peeked.missing, peeked.mapCopied], ['TypeError', true, true, null, true]);
  // A worker's replica loads after start (a restarted server's catches up with its peers): peek
  // before then says what to do. A process without clustering is ready at once.
  const notReady = /is not ready yet .* await store.ready\(\) once before peeking/;
  // On Redis every process loads a store on its first read.
  if (writer > 0 || engine !== 'memory') assert.match(peeked.atBoot.error?.message ?? '', notReady);
  else if (cluster.nodes.length === 1) assert.equal(peeked.atBoot, { value: null });
  else assert.ok(peeked.atBoot.value === null || notReady.test(peeked.atBoot.error?.message), JSON.stringify(peeked.atBoot));

  // stored values are copies
  const copies = await writerNode.value({ from: writer, op: 'copies', store: 's.copies' });
  assert.equal(copies, { copy: { list: [1], nested: { a: 1 } }, input: { list: [5] } });

  // filters: $gt, $in, $regex, nested paths, $elemMatch; $where rejected and never run
  await call('s.people', 'save', { id: 'p1', data: { name: 'ann', age: 31, address: { city: 'Seoul' }, items: [{ sku: 'x', qty: 3 }] } });
  await call('s.people', 'save', { id: 'p2', data: { name: 'bob', age: 25, address: { city: 'Busan' }, items: [{ sku: 'y', qty: 1 }] } });
  await call('s.people', 'save', { id: 'p3', data: { name: 'cho', age: 40, address: { city: 'Seoul' }, items: [] } });
  const ids = async (filter: unknown) => Object.keys(await readerNode.value({ from: reader, op: 'call', store: 's.people', method: 'all', args: [filter] })).sort();
  await seenElsewhere('s.people', { p1: { name: 'ann', age: 31, address: { city: 'Seoul' }, items: [{ sku: 'x', qty: 3 }] }, p2: { name: 'bob', age: 25, address: { city: 'Busan' }, items: [{ sku: 'y', qty: 1 }] }, p3: { name: 'cho', age: 40, address: { city: 'Seoul' }, items: [] } });
  assert.equal(await ids({ age: { $gt: 30 } }), ['p1', 'p3']);
  assert.equal(await ids({ name: { $in: ['bob', 'zed'] } }), ['p2']);
  assert.equal(await ids({ name: { $regex: '^(a|c)' } }), ['p1', 'p3']);
  assert.equal(await ids({ 'address.city': 'Seoul' }), ['p1', 'p3']);
  assert.equal(await ids({ items: { $elemMatch: { sku: 'x', qty: { $gte: 2 } } } }), ['p1']);
  assert.is(await readerNode.value({ from: reader, op: 'call', store: 's.people', method: 'count', args: [{ age: { $lt: 35 } }] }), 2);
  assert.is(await readerNode.value({ from: reader, op: 'call', store: 's.people', method: 'checkExists', args: [{ 'address.city': 'Busan' }] }), true);
  assert.is(await readerNode.value({ from: reader, op: 'call', store: 's.people', method: 'checkExists', args: ['p9'] }), false);
  const unsafe = await readerNode.value({ from: reader, op: 'unsafeFilters', store: 's.people' });
  assert.is(unsafe.ran, false);
  for (const outcome of unsafe.outcomes) assert.is(outcome.name, 'StoreFilterError');

  // remove and clear reach everyone
  assert.equal(await call('s.people', 'remove', 'p2'), { name: 'bob', age: 25, address: { city: 'Busan' }, items: [{ sku: 'y', qty: 1 }] });
  assert.is(await readerNode.value({ from: reader, op: 'until', store: 's.people', itemId: 'p2', expect: null }).then((o: any) => o.equal), true);
  await call('s.people', 'clear');
  await seenElsewhere('s.people', {});

  // TTL: expiry; save clears a TTL; update keeps it; update with removeAfterSeconds resets it
  await call('s.ttl', 'save', { id: 'gone', data: { v: 1 }, removeAfterSeconds: 1 });
  await call('s.ttl', 'save', { id: 'cleared', data: { v: 1 }, removeAfterSeconds: 1 });
  await call('s.ttl', 'save', { id: 'cleared', data: { v: 2 } });
  await call('s.ttl', 'save', { id: 'kept', data: { v: 1 }, removeAfterSeconds: 1.5 });
  await call('s.ttl', 'update', { id: 'kept', data: { $inc: { v: 1 } } });
  await call('s.ttl', 'save', { id: 'reset', data: { v: 1 }, removeAfterSeconds: 1 });
  await call('s.ttl', 'update', { id: 'reset', data: { v: 2 }, removeAfterSeconds: 4 });
  await seenElsewhere('s.ttl', { gone: { v: 1 }, cleared: { v: 2 }, kept: { v: 2 }, reset: { v: 2 } });
  // After 2 s: only the saved-without-TTL entry and the reset one remain, in every process.
  await writerNode.value({ from: writer, op: 'sleep', ms: 2000 });
  await seenElsewhere('s.ttl', { cleared: { v: 2 }, reset: { v: 2 } });
  assert.is(await call('s.ttl', 'update', { id: 'gone', data: { v: 3 } }), undefined, 'an expired entry cannot be updated');

  // onChange: local notification in the reading process
  await readerNode.value({ from: reader, op: 'watch', store: 's.watch' });
  await call('s.watch', 'save', { id: 'w', data: { n: 1 } });
  await call('s.watch', 'update', { id: 'w', data: { $inc: { n: 1 } } });
  await call('s.watch', 'remove', 'w');
  const changes = await readerNode.waitFor((e) => e.event === 'change' && e.store === 's.watch', 3, 5000);
  assert.equal(changes.slice(0, 3).map((e) => [e.change.type, e.change.document ?? null]), [['save', { n: 1 }], ['update', { n: 2 }], ['remove', null]]);
}

test.run();
