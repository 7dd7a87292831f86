// The Redis store engine with real processes and a real redis-server (started here): 2 servers ×
// 2 workers writing at once, a full restart, Redis killed / restarted with and without its data /
// its script cache flushed / failed over to a replica, a feed trimmed past a paused reader, JSON
// edge values, Redis-side expiry, store.create races, and the connections it uses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startStoreCluster, type StoreCluster, type StoreNode } from '../helpers/store-cluster.js';
import { RedisClusterHarness, RedisServer } from '../helpers/redis-server.js';
import { until } from '../helpers/until.js';

const env = (url: string, extra: Record<string, string> = {}) => ({ BOXWIRE_STORE_ENGINE: 'redis', BOXWIRE_REDIS_URL: url, ...extra });
const EDGE = { empty: [], obj: {}, max: 2 ** 53 - 1, min: -(2 ** 53 - 1), nested: [[], [[]], { a: [] }, [{}]], deep: { x: { y: [] } }, zero: 0, nil: null, text: '' };

const call = (node: StoreNode, from: number, store: string, method: string, ...args: unknown[]) => node.value({ from, op: 'call', store, method, args });
const timed = (node: StoreNode, from: number, store: string, method: string, ...args: unknown[]) => node.value({ from, op: 'timed', store, method, args });

/** A write that succeeds once Redis is usable again (each attempt fails fast while it is not). */
function writeWorksAgain(node: StoreNode, from: number, store: string, id: string, data: object): Promise<number> {
  const started = Date.now();
  return until(`a write to ${store} works again`, async () => ((await timed(node, from, store, 'save', { id, data })).ok ? Date.now() - started : undefined), 20_000);
}

async function seesEverywhere(cluster: StoreCluster | StoreCluster[], store: string, expect: unknown, itemId?: string): Promise<void> {
  for (const [node, from] of [cluster].flat().flatMap((c) => c.processes)) {
    const outcome = await node.value({ from, op: 'until', store, expect, itemId, timeoutMs: 10_000 });
    assert.ok(outcome.equal, `${node.name}/${from} sees ${JSON.stringify(expect)} in ${store} (has ${JSON.stringify(outcome.value)})`);
  }
}

test('2 servers × 2 workers: concurrent $inc, $addToSet, $push and $pull lose nothing; create races end with one document', async () => {
  const redis = await new RedisServer().start();
  const servers = await Promise.all([startStoreCluster('cpu', { common: env(redis.url) }), startStoreCluster('cpu', { common: env(redis.url) })]);
  try {
    const procs = servers.flatMap((c) => c.processes);
    assert.is(procs.length, 4);
    const [[first, from]] = procs;
    await call(first, from, 'r.count', 'save', { id: 'c', data: { total: 0, members: [], list: [] } });
    const COUNT = 150;
    await Promise.all(procs.map(([node, w], k) => node.value({ from: w, op: 'incMany', store: 'r.count', itemId: 'c', count: COUNT, amountBase: k * 1000 }, 120_000)));
    let total = 0;
    for (let k = 0; k < 4; k++) for (let i = 0; i < COUNT; i++) total += k * 1000 + i;
    for (const [node, w] of procs) {
      const outcome = await node.value({ from: w, op: 'untilCounter', store: 'r.count', itemId: 'c', expect: { total, members: 4 * COUNT }, timeoutMs: 10_000 });
      assert.ok(outcome.equal, `${node.name}/${w}: ${JSON.stringify(outcome)} (want total ${total}, ${4 * COUNT} members)`);
    }
    await Promise.all(procs.map(([node, w], k) => node.value({ from: w, op: 'pushPull', store: 'r.count', itemId: 'c', count: 100, amountBase: 100_000 + k * 1000 }, 120_000)));
    const odd: number[] = [];
    for (let k = 0; k < 4; k++) for (let i = 0; i < 100; i++) if ((100_000 + k * 1000 + i) % 2) odd.push(100_000 + k * 1000 + i);
    for (const [node, w] of procs) {
      const list = await until(`${node.name}/${w} sees every push and pull`, async () => {
        const doc = await call(node, w, 'r.count', 'get', 'c');
        return doc.list.length === odd.length ? doc.list : undefined;
      });
      assert.equal([...list].sort((a: number, b: number) => a - b), odd);
    }

    const created = await Promise.all(procs.map(([node, w]) => node.value({ from: w, op: 'createRace', store: 'r.create', itemId: 'once' })));
    assert.ok(created.every((doc) => JSON.stringify(doc) === JSON.stringify(created[0])), `every create resolves to the one document: ${JSON.stringify(created)}`);
    assert.ok(['local-1', 'local-2'].includes(created[0].by));
    await seesEverywhere(servers, 'r.create', { once: created[0] });
    assert.equal(await call(first, from, 'r.create', 'create', { id: 'once', data: { by: 'late' } }), created[0], 'a later create returns the existing document unchanged');
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await redis.dispose();
  }
});

test('full restart of Redis (appendonly yes) and every boxwire process keeps the data; JSON edge values round-trip', async () => {
  const redis = await new RedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] }).start();
  let cluster = await startStoreCluster('cpu', { common: env(redis.url) });
  try {
    await call(cluster.nodes[0], 1, 'r.durable', 'save', { id: 'edge', data: EDGE });
    await call(cluster.nodes[0], 1, 'r.durable', 'save', { id: 'ttl', data: { v: 1 }, removeAfterSeconds: 600 });
    await call(cluster.nodes[0], 2, 'r.durable', 'update', { id: 'edge', data: { $push: { empty: { $each: [[], {}] } } } });
    const edited = { ...EDGE, empty: [[], {}] };
    await seesEverywhere(cluster, 'r.durable', { edge: edited, ttl: { v: 1 } });
    const expiresAt = (await redis.cli('PEXPIRETIME', 'bw:store:{r.durable}:d:ttl')).stdout.trim();
    await cluster.stop();
    await redis.restart();
    cluster = await startStoreCluster('cpu', { common: env(redis.url) });
    await seesEverywhere(cluster, 'r.durable', { edge: edited, ttl: { v: 1 } });
    assert.is((await redis.cli('PEXPIRETIME', 'bw:store:{r.durable}:d:ttl')).stdout.trim(), expiresAt, 'the absolute expiry survived too');
    assert.equal(await call(cluster.nodes[0], 2, 'r.durable', 'update', { id: 'edge', data: { $inc: { max: 0 } } }), edited);
  } finally {
    await cluster.stop();
    await redis.dispose();
  }
});

test('Redis killed: writes fail fast with StoreUnavailableError while reads answer locally; back with its data, then empty, then a flushed script cache: writes work again', async () => {
  const redis = await new RedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] }).start();
  const cluster = await startStoreCluster('cpu', { common: env(redis.url) });
  const [node] = cluster.nodes;
  try {
    await call(node, 1, 'r.down', 'save', { id: 'k', data: { v: 1 } });
    await seesEverywhere(cluster, 'r.down', { k: { v: 1 } });

    await redis.kill9();
    for (let attempt = 0; attempt < 2; attempt++) {
      const outcome = await timed(node, 1, 'r.down', 'save', { id: 'k2', data: { v: 2 } });
      assert.is(outcome.ok, false);
      assert.is(outcome.error.name, 'StoreUnavailableError');
      assert.is(outcome.error.code, 'BOXWIRE_STORE_UNAVAILABLE');
      assert.match(outcome.error.message, /Redis \(redis:\/\/127\.0\.0\.1:\d+\) is unreachable.*nothing was written.*Reads still answer/);
      assert.ok(outcome.ms < 5_000, `rejected within a few seconds (took ${outcome.ms} ms)`);
    }
    const updated = await timed(node, 2, 'r.down', 'update', { id: 'k', data: { $inc: { v: 1 } } });
    assert.is(updated.error?.code, 'BOXWIRE_STORE_UNAVAILABLE');
    assert.ok(updated.ms < 5_000);
    assert.equal(await call(node, 2, 'r.down', 'get', 'k'), { v: 1 }, 'reads answer from the local copy');
    assert.equal(await node.value({ from: 2, op: 'peekNow', store: 'r.down', itemId: 'k' }), { value: { v: 1 } });
    assert.equal(await call(node, 1, 'r.down', 'all', { v: { $gte: 1 } }), { k: { v: 1 } });
    const unloaded = await timed(node, 1, 'r.never-read', 'get', 'x');
    assert.is(unloaded.error?.code, 'BOXWIRE_STORE_UNAVAILABLE', 'a store this process never loaded cannot be read while Redis is away');
    assert.is((await node.value({ from: 2, op: 'peekNow', store: 'r.never-peeked', itemId: 'x' })).error?.name, 'StoreNotReadyError');
    // ready() waits on the very load that peek started: once it has failed, the process must still run.
    assert.is((await timed(node, 2, 'r.never-peeked', 'ready')).error?.code, 'BOXWIRE_STORE_UNAVAILABLE');
    assert.equal(await call(node, 2, 'r.down', 'get', 'k'), { v: 1 }, 'the process carries on (the failed load was no unhandled rejection)');

    // Back with its data (appendonly): writes work again, and every process's feed carries on.
    await redis.start();
    await writeWorksAgain(node, 1, 'r.down', 'k3', { v: 3 });
    await seesEverywhere(cluster, 'r.down', { k: { v: 1 }, k3: { v: 3 } });
    assert.equal(await call(node, 2, 'r.down', 'update', { id: 'k', data: { $inc: { v: 1 } } }), { v: 2 });

    // Back empty (its data lost): writes work again and every copy reloads to what Redis holds.
    await redis.kill9();
    await redis.restart({ wipe: true });
    await writeWorksAgain(node, 2, 'r.down', 'fresh', { v: 4 });
    await seesEverywhere(cluster, 'r.down', { fresh: { v: 4 } });

    // The script cache flushed: the next write loads the script again (NOSCRIPT → EVAL).
    await redis.cli('SCRIPT', 'FLUSH');
    const afterFlush = await timed(node, 1, 'r.down', 'update', { id: 'fresh', data: { $inc: { v: 1 } } });
    assert.equal([afterFlush.ok, afterFlush.value], [true, { v: 5 }]);
    await seesEverywhere(cluster, 'r.down', { fresh: { v: 5 } });
  } finally {
    await cluster.stop();
    await redis.dispose();
  }
});

test('FAILOVER to a replica: the old primary answers READONLY, boxwire moves to the new primary and writes work again', async () => {
  const primary = await new RedisServer().start();
  const replica = await new RedisServer({ args: ['--replicaof', '127.0.0.1', String(primary.port)] }).start();
  const cluster = await startStoreCluster('cpu', { common: env(primary.url) });
  const [node] = cluster.nodes;
  try {
    await until('the replica is in sync', async () => (/master_link_status:up/.test((await replica.cli('INFO', 'replication')).stdout) ? true : undefined));
    await call(node, 1, 'r.failover', 'save', { id: 'a', data: { n: 1 } });
    await seesEverywhere(cluster, 'r.failover', { a: { n: 1 } });
    assert.match((await primary.cli('FAILOVER')).stdout, /OK/);
    await until('the old primary is a replica', async () => (/role:slave/.test((await primary.cli('INFO', 'replication')).stdout) ? true : undefined));
    await writeWorksAgain(node, 1, 'r.failover', 'b', { n: 2 });
    assert.equal(await call(node, 2, 'r.failover', 'update', { id: 'a', data: { $inc: { n: 1 } } }), { n: 2 });
    await seesEverywhere(cluster, 'r.failover', { a: { n: 2 }, b: { n: 2 } });
    assert.is((await replica.cli('EXISTS', 'bw:store:{r.failover}:d:b')).stdout.trim(), '1', 'the write went to the new primary');
  } finally {
    await cluster.stop();
    await replica.dispose();
    await primary.dispose();
  }
});

test('a reader paused while the feed is trimmed past it reloads the store and tells its listeners (reset)', async () => {
  const redis = await new RedisServer().start();
  const common = env(redis.url, { BOXWIRE_STORE_FEED_LENGTH: '100' });
  const writer = await startStoreCluster('solo', { common });
  const reader = await startStoreCluster('solo', { common });
  const [w] = writer.nodes;
  const [r] = reader.nodes;
  try {
    await call(w, 0, 'r.trim', 'save', { id: 'first', data: { n: 0 } });
    await r.value({ from: 0, op: 'watch', store: 'r.trim' });
    await seesEverywhere(reader, 'r.trim', { first: { n: 0 } });
    const pid = await r.value({ from: 0, op: 'pid' });
    process.kill(pid, 'SIGSTOP');
    try {
      // One write in flight: each is its own batch, so its own feed entry (3,000 entries past a 100-entry feed).
      await w.value({ from: 0, op: 'benchWrite', store: 'r.trim', method: 'save', count: 3000, ms: 1 }, 60_000);
      const length = Number((await redis.cli('XLEN', 'bw:store:{r.trim}:feed')).stdout);
      assert.ok(length < 1000, `the feed was trimmed (${length} entries kept of 3,001)`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const expected = await w.value({ from: 0, op: 'dump', store: 'r.trim' });
    assert.is(Object.keys(expected).length, 1001);
    await seesEverywhere(reader, 'r.trim', expected);
    await r.waitFor((e) => e.event === 'change' && e.change.type === 'reset', 1, 10_000);
  } finally {
    await writer.stop();
    await reader.stop();
    await redis.dispose();
  }
});

test('TTL: the expiry is stamped by Redis, keys expire in Redis too, entries vanish everywhere at once, and expiry emits nothing', async () => {
  const redis = await new RedisServer().start();
  const cluster = await startStoreCluster('cpu', { common: env(redis.url) });
  const [node] = cluster.nodes;
  try {
    await node.value({ from: 2, op: 'watch', store: 'r.ttl' });
    await call(node, 1, 'r.ttl', 'save', { id: 'short', data: { v: 1 }, removeAfterSeconds: 1 });
    const pttl = Number((await redis.cli('PTTL', 'bw:store:{r.ttl}:d:short')).stdout);
    assert.ok(pttl > 0 && pttl <= 1000, `the document key expires in Redis (PTTL ${pttl})`);
    await node.waitFor((e) => e.event === 'change' && e.store === 'r.ttl', 1, 5_000);
    const gone = await Promise.all([1, 2].map((from) => node.value({ from, op: 'whenGone', store: 'r.ttl', itemId: 'short' })));
    assert.ok(Math.abs(gone[0] - gone[1]) < 300, `both workers stop seeing it at about the same time (${gone[1] - gone[0]} ms apart)`);
    assert.is((await redis.cli('EXISTS', 'bw:store:{r.ttl}:d:short')).stdout.trim(), '0');
    assert.is((await redis.cli('PTTL', 'bw:store:{r.ttl}:ids')).stdout.trim(), '-2', 'the id index went with its last entry');
    await call(node, 1, 'r.ttl', 'save', { id: 'marker', data: {} });
    await node.waitFor((e) => e.event === 'change' && e.store === 'r.ttl', 2, 5_000);
    const changes = node.events.filter((e) => e.event === 'change' && e.store === 'r.ttl').map((e) => [e.change.type, e.change.id]);
    assert.equal(changes, [['save', 'short'], ['save', 'marker']], 'the expiry itself emitted nothing');
  } finally {
    await cluster.stop();
    await redis.dispose();
  }
});

test('connections: writes on one command connection, each read store followed on its own blocking connection', async () => {
  const redis = await new RedisServer().start();
  const cluster = await startStoreCluster('solo', { common: env(redis.url) });
  const [node] = cluster.nodes;
  try {
    await call(node, 0, 'r.conn.a', 'save', { id: 'x', data: {} });
    await call(node, 0, 'r.conn.a', 'get', 'x');
    await call(node, 0, 'r.conn.b', 'get', 'x');
    await call(node, 0, 'r.conn.c', 'save', { id: 'x', data: {} }); // written, never read: no feed connection
    const names = (await redis.cli('CLIENT', 'LIST')).stdout.split('\n').map((line) => /name=(\S*)/.exec(line)?.[1]).filter(Boolean).sort();
    // (test.boot: the fixture reads it as it starts)
    assert.equal(names, ['boxwire:store', 'boxwire:store-feed:r.conn.a', 'boxwire:store-feed:r.conn.b', 'boxwire:store-feed:test.boot']);
  } finally {
    await cluster.stop();
    await redis.dispose();
  }
});

// (The default on a cluster, slot groups spreading one store over every master: redis-cluster-slots.test.ts.)
test('Redis Cluster (3 masters) with slotGroups 1: each store in one slot (documents, index, feed), stores spread across the masters; concurrent $inc exact', async () => {
  const redisCluster = await new RedisClusterHarness().start();
  const cluster = await startStoreCluster('cpu', { common: { BOXWIRE_STORE_ENGINE: 'redis', BOXWIRE_REDIS_CLUSTER: redisCluster.seeds.join(','), BOXWIRE_STORE_SLOT_GROUPS: '1' } });
  const [node] = cluster.nodes;
  try {
    const stores = Array.from({ length: 12 }, (_, i) => `rc.s${i}`);
    await Promise.all(stores.map((store) => call(node, 1, store, 'save', { id: 'doc', data: { store, edge: EDGE } })));
    for (const store of stores) assert.equal(await call(node, 2, store, 'get', 'doc'), { store, edge: EDGE });
    const holding = await Promise.all(redisCluster.nodes.map(async (n) => Number((await n.cli('DBSIZE')).stdout)));
    assert.ok(holding.filter((keys) => keys > 0).length >= 2, `stores spread over the masters (keys per master: ${holding.join(', ')})`);
    const slots = await Promise.all(['meta', 'feed', 'ids', 'd:doc', 'd:other'].map(async (suffix) => (await redisCluster.nodes[0].cli('CLUSTER', 'KEYSLOT', `bw:store:{rc.s0}:${suffix}`)).stdout.trim()));
    assert.is(new Set(slots).size, 1, `one store's keys share one slot (${slots.join(', ')})`);
    const owner = await redisCluster.masterOf(Number(slots[0]));
    assert.is((await owner.cli('EXISTS', 'bw:store:{rc.s0}:d:doc', 'bw:store:{rc.s0}:feed')).stdout.trim(), '2', "the store's document and feed are on the master of its slot");

    await call(node, 1, 'rc.count', 'save', { id: 'c', data: { total: 0, members: [] } });
    await Promise.all([1, 2].map((from, k) => node.value({ from, op: 'incMany', store: 'rc.count', itemId: 'c', count: 200, amountBase: k * 1000 }, 120_000)));
    let total = 0;
    for (let k = 0; k < 2; k++) for (let i = 0; i < 200; i++) total += k * 1000 + i;
    for (const from of [1, 2]) {
      const outcome = await node.value({ from, op: 'untilCounter', store: 'rc.count', itemId: 'c', expect: { total, members: 400 }, timeoutMs: 10_000 });
      assert.ok(outcome.equal, JSON.stringify(outcome));
    }
    await call(node, 2, 'rc.count', 'clear');
    await seesEverywhere(cluster, 'rc.count', {});
  } finally {
    await cluster.stop();
    await redisCluster.dispose();
  }
});

test.run();
