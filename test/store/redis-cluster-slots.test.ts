// The Redis engine on a real Redis Cluster (started here with redis-cli --cluster create): a
// store's documents spread over all three masters in slot groups, each group's documents, index
// and feed in one slot; concurrent $inc / $addToSet from 2 servers × 2 workers exact on ids in
// different groups; clear across groups; and a master killed (its replica takes over, then the
// old master comes back as a replica) recovered as docs/store-redis.md says.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startStoreCluster, type StoreCluster, type StoreNode } from '../helpers/store-cluster.js';
import { RedisClusterHarness, type RedisServer } from '../helpers/redis-server.js';
import { until } from '../helpers/until.js';
import { storeLayout } from '../../src/store/engines/redis/store-keys.js';

// Where a run is, on stderr: the runner shows it only when the file fails or times out.
const started = Date.now();
const step = (what: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);

const GROUPS = 16; // the engine's default on a Redis Cluster
const env = (cluster: RedisClusterHarness) => ({ BOXWIRE_STORE_ENGINE: 'redis', BOXWIRE_REDIS_CLUSTER: cluster.seeds.join(',') });
const call = (node: StoreNode, from: number, store: string, method: string, ...args: unknown[]) => node.value({ from, op: 'call', store, method, args });
const timed = (node: StoreNode, from: number, store: string, method: string, ...args: unknown[]) => node.value({ from, op: 'timed', store, method, args });

async function seesEverywhere(clusters: StoreCluster[], store: string, expect: unknown, itemId?: string): Promise<void> {
  for (const [node, from] of clusters.flatMap((c) => c.processes)) {
    const outcome = await node.value({ from, op: 'until', store, expect, itemId, timeoutMs: 15_000 });
    assert.ok(outcome.equal, `${node.name}/${from} sees ${JSON.stringify(expect).slice(0, 200)} in ${store} (has ${String(JSON.stringify(outcome.value)).slice(0, 200)})`);
  }
}

/** The store's keys on one node (SCAN there: a cluster node lists only the keys of its own slots). */
async function keysOn(node: RedisServer, store: string): Promise<string[]> {
  const { stdout } = await node.cli('--scan', '--pattern', `bw:store:{${store}#*`);
  return stdout.split('\n').filter(Boolean);
}

const slotOf = async (cluster: RedisClusterHarness, key: string) => Number((await cluster.nodes[0].cli('CLUSTER', 'KEYSLOT', key)).stdout);

/** Ids whose documents fall in different slot groups of `store`. */
function idsInDifferentGroups(store: string, count: number): string[] {
  const layout = storeLayout(store, GROUPS);
  const byGroup = new Map<number, string>();
  for (let i = 0; byGroup.size < count; i++) if (!byGroup.has(layout.groupOf(`c${i}`))) byGroup.set(layout.groupOf(`c${i}`), `c${i}`);
  return [...byGroup.values()];
}

test('Redis Cluster, 2 servers × 2 workers: a store spreads over all three masters (each slot group in one slot); concurrent $inc/$addToSet exact; clear empties every group', async () => {
  step('test 1: starting a 3-master Redis Cluster');
  const redis = await new RedisClusterHarness().start();
  const servers = await Promise.all([startStoreCluster('cpu', { common: env(redis) }), startStoreCluster('cpu', { common: env(redis) })]);
  try {
    const procs = servers.flatMap((c) => c.processes);
    assert.is(procs.length, 4);
    const [[first, from]] = procs;
    const STORE = 'rc.big';
    const DOCS = 600;
    step('test 1: cluster and 2 servers up; writing 600 documents');
    await first.value({ from, op: 'benchWrite', store: STORE, method: 'save', count: DOCS, ms: 50 }, 60_000);

    // Where the keys are: every master holds documents of the store, and a group's keys share a slot.
    const perMaster = await Promise.all(redis.nodes.map((node) => keysOn(node, STORE)));
    const documentsPerMaster = perMaster.map((keys) => keys.filter((key) => key.includes('}:d:')).length);
    assert.ok(documentsPerMaster.every((n) => n > 0), `documents on every master (per master: ${documentsPerMaster.join(', ')})`);
    assert.is(documentsPerMaster.reduce((a, b) => a + b, 0), DOCS);
    for (const n of documentsPerMaster) assert.ok(n > DOCS / 6, `no master holds much less than its share (per master: ${documentsPerMaster.join(', ')})`);
    const allKeys = perMaster.flat();
    const tags = new Set(allKeys.map((key) => /\{([^}]*)\}/.exec(key)![1]));
    assert.is(tags.size, GROUPS, `${GROUPS} slot groups (${[...tags].join(' ')})`);
    for (const tag of tags) {
      const keys = allKeys.filter((key) => key.includes(`{${tag}}`));
      assert.ok(['meta', 'feed', 'ids'].every((kind) => keys.includes(`bw:store:{${tag}}:${kind}`)), `group ${tag} has its own meta, feed and index`);
      const slots = new Set(await Promise.all(keys.slice(0, 5).map((key) => slotOf(redis, key))));
      assert.is(slots.size, 1, `group ${tag}: its keys share one slot`);
      const [slot] = slots;
      const owner = await redis.masterOf(slot);
      assert.ok(Number((await owner.cli('CLUSTER', 'COUNTKEYSINSLOT', String(slot))).stdout) >= 3, `group ${tag}'s keys are on the master of slot ${slot}`);
    }
    // The store-wide record of the layout.
    assert.is((await (await redis.masterOf(await slotOf(redis, `bw:store:{${STORE}}:meta`))).cli('HGET', `bw:store:{${STORE}}:meta`, 'groups')).stdout.trim(), String(GROUPS));
    const expected = await first.value({ from, op: 'dump', store: STORE });
    assert.is(Object.keys(expected).length, DOCS);
    await seesEverywhere(servers, STORE, expected);

    step('test 1: layout checked; concurrent $inc/$addToSet');
    // Concurrent $inc and $addToSet from 4 processes on ids in different groups: none lost.
    const ids = idsInDifferentGroups('rc.count', 3);
    for (const id of ids) await call(first, from, 'rc.count', 'save', { id, data: { total: 0, members: [] } });
    const COUNT = 100;
    await Promise.all(procs.flatMap(([node, w], k) => ids.map((id) => node.value({ from: w, op: 'incMany', store: 'rc.count', itemId: id, count: COUNT, amountBase: k * 1000 }, 120_000))));
    let total = 0;
    for (let k = 0; k < 4; k++) for (let i = 0; i < COUNT; i++) total += k * 1000 + i;
    for (const [node, w] of procs) {
      for (const id of ids) {
        const outcome = await node.value({ from: w, op: 'untilCounter', store: 'rc.count', itemId: id, expect: { total, members: 4 * COUNT }, timeoutMs: 15_000 });
        assert.ok(outcome.equal, `${node.name}/${w} ${id}: ${JSON.stringify(outcome)} (want total ${total}, ${4 * COUNT} members)`);
      }
    }

    step('test 1: counters exact; clear');
    // A clear reaches every group: every process sees the store empty, and Redis holds no document of it.
    await call(procs[3][0], procs[3][1], STORE, 'clear');
    await seesEverywhere(servers, STORE, {});
    const left = (await Promise.all(redis.nodes.map((node) => keysOn(node, STORE)))).flat().filter((key) => key.includes('}:d:'));
    assert.equal(left, []);
    assert.is(await call(procs[2][0], procs[2][1], STORE, 'count'), 0);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await redis.dispose();
  }
});

test('Redis Cluster failover: a master killed — reads answer, writes to its groups fail fast then work once its replica took over; the old master back as a replica; nothing lost, $inc exact', async () => {
  step('test 2: starting 3 masters + 3 replicas');
  const redis = await new RedisClusterHarness().start(3, 1);
  const servers = [await startStoreCluster('cpu', { common: env(redis) })];
  const procs = servers[0].processes;
  const [[node, one], [, two]] = procs;
  const STORE = 'rc.fail';
  try {
    const docs: Record<string, { n: number }> = {};
    for (let i = 0; i < 200; i++) docs[`k${i}`] = { n: i };
    await Promise.all(Object.entries(docs).map(([id, data]) => call(node, one, STORE, 'save', { id, data })));
    await seesEverywhere(servers, STORE, docs);
    await redis.untilReplicated();

    // The master of the group holding 'k0'.
    const layout = storeLayout(STORE, GROUPS);
    const group = layout.groups[layout.groupOf('k0')];
    const victim = await redis.masterOf(await slotOf(redis, group.meta));
    step('test 2: killing a master');
    await victim.kill9();

    // While its replica has not taken over yet: reads answer from each process's copy; a write to
    // the dead master's group fails within a few seconds (or already works: the replica was quick).
    for (const [p, w] of procs) assert.equal(await call(p, w, STORE, 'get', 'k0'), { n: 0 });
    const during = await timed(node, two, STORE, 'save', { id: 'k0', data: { n: 'during' } });
    assert.ok(during.ok || during.error.code === 'BOXWIRE_STORE_UNAVAILABLE', JSON.stringify(during));
    assert.ok(during.ms < 8_000, `the write settled in ${during.ms} ms`);

    step('test 2: waiting for failover');
    const survivors = redis.nodes.filter((n) => n !== victim);
    await redis.untilOk(survivors, 30_000);
    await until('a write to the failed-over group works', async () => ((await timed(node, one, STORE, 'save', { id: 'k0', data: { n: 'after' } })).ok ? true : undefined), 30_000);
    docs.k0 = { n: 'after' } as never;
    await seesEverywhere(servers, STORE, docs);

    step('test 2: failed over; concurrent $inc');
    // Concurrent $inc on the failed-over group from both workers: exact.
    await call(node, one, STORE, 'save', { id: 'k0', data: { total: 0, members: [] } });
    await Promise.all(procs.map(([p, w], k) => p.value({ from: w, op: 'incMany', store: STORE, itemId: 'k0', count: 100, amountBase: k * 1000 }, 120_000)));
    let total = 0;
    for (let k = 0; k < 2; k++) for (let i = 0; i < 100; i++) total += k * 1000 + i;
    for (const [p, w] of procs) {
      const outcome = await p.value({ from: w, op: 'untilCounter', store: STORE, itemId: 'k0', expect: { total, members: 200 }, timeoutMs: 15_000 });
      assert.ok(outcome.equal, JSON.stringify(outcome));
    }

    step('test 2: restarting the old master');
    // The old master comes back (empty: no persistence here) and rejoins as a replica; nothing changes for the store.
    await redis.restartNode(victim);
    await redis.untilOk(redis.nodes, 30_000);
    assert.ok(/role:slave/.test((await victim.cli('INFO', 'replication')).stdout), 'the old master is a replica now');
    await call(node, two, STORE, 'update', { id: 'k1', data: { $inc: { n: 10 } } });
    docs.k1 = { n: 11 };
    const now = await node.value({ from: one, op: 'dump', store: STORE });
    assert.is(Object.keys(now).length, 200);
    assert.equal(now.k1, { n: 11 });
    assert.equal(now.k199, { n: 199 });
    // A process started now loads the same store.
    const late = await startStoreCluster('solo', { common: env(redis) });
    servers.push(late);
    await seesEverywhere(servers, STORE, now);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await redis.dispose();
  }
});

test('Redis Cluster without replicas: a master restarted empty — writes fail fast while the cluster is down, then work; the copies of its groups reload to what Redis holds (reset), the other groups keep their documents', async () => {
  step('test 3: starting a 3-master Redis Cluster');
  const redis = await new RedisClusterHarness().start();
  const servers = [await startStoreCluster('cpu', { common: env(redis) })];
  const procs = servers[0].processes;
  const [[node, one]] = procs;
  const STORE = 'rc.empty';
  try {
    const docs: Record<string, { n: number }> = {};
    for (let i = 0; i < 120; i++) docs[`k${i}`] = { n: i };
    await Promise.all(Object.entries(docs).map(([id, data]) => call(node, one, STORE, 'save', { id, data })));
    for (const [p, w] of procs) await p.value({ from: w, op: 'watch', store: STORE });
    await seesEverywhere(servers, STORE, docs);

    const layout = storeLayout(STORE, GROUPS);
    const victim = await redis.masterOf(await slotOf(redis, layout.groups[layout.groupOf('k0')].meta));
    const owners = await Promise.all(layout.groups.map(async (keys) => (await redis.masterOf(await slotOf(redis, keys.meta))) === victim));
    const kept = Object.fromEntries(Object.entries(docs).filter(([id]) => !owners[layout.groupOf(id)]));
    assert.ok(Object.keys(kept).length > 0 && Object.keys(kept).length < 120, `some groups were on the victim (${120 - Object.keys(kept).length} documents)`);
    step('test 3: killing a master');
    await victim.kill9();
    const during = await timed(node, one, STORE, 'save', { id: 'k0', data: { n: 'during' } });
    assert.ok(during.ms < 8_000, `a write during the outage settled in ${during.ms} ms: ${JSON.stringify(during)}`);
    for (const [p, w] of procs) assert.equal(await call(p, w, STORE, 'get', 'k1'), docs.k1, 'reads answer from the copy');

    step('test 3: restarting it empty');
    await redis.restartNode(victim);
    await redis.untilOk(redis.nodes, 30_000);
    await until('a write works again', async () => ((await timed(node, one, STORE, 'save', { id: 'fresh', data: { n: -1 } })).ok ? true : undefined), 30_000);
    await seesEverywhere(servers, STORE, { ...kept, fresh: { n: -1 } });
    for (const [p] of procs) await p.waitFor((e) => e.event === 'change' && e.store === STORE && e.change.type === 'reset', 1, 15_000);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await redis.dispose();
  }
});

test.run();
