// UNIQUE_ID on a real redis-server: 3 processes × 20,000 ids, also across a Redis restart; a
// brand-new Redis gives ids at once; after a data loss a newcomer that gets a live holder's node id
// cannot repeat its ids (the epoch guard).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixtureProcess } from '../helpers/process-harness.js';
import { RedisServer } from '../helpers/redis-server.js';
import { configureRedis } from '../../src/redis/redis-settings.js';
import { UNIQUE_ID, UniqueIdUnavailableError } from '../../src/index.js';
import { closeCoordination } from '../../src/coord/backend-choice.js';
import { RedisCoordinator } from '../../src/coord/redis-coordinator.js';
import { NodeIdLease } from '../../src/coord/node-id-lease.js';
import { SnowflakeGenerator } from '../../src/coord/snowflake.js';

const dir = mkdtempSync(join(tmpdir(), 'boxwire-ids-'));
const redis = new RedisServer();
const fixtures: FixtureProcess[] = [];
const PER_PROCESS = 20_000;

test.before(async () => {
  await redis.start();
});

test.after(async () => {
  for (const fixture of fixtures) fixture.kill('SIGKILL');
  await closeCoordination();
  await redis.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function generate(name: string, extra: Record<string, unknown> = {}) {
  return [1, 2, 3].map((n) => {
    const file = join(dir, `${name}-${n}`);
    const fixture = new FixtureProcess('test/fixtures/coord-app.ts', ['ids', JSON.stringify({ count: PER_PROCESS, file, ...extra })], { BOXWIRE_REDIS_URL: redis.url, BOXWIRE_ID_LEASE_TTL_MS: '1500', BOXWIRE_LOG: 'warn' });
    fixtures.push(fixture);
    return { fixture, file };
  });
}

function checkIds(files: string[]): void {
  const seen = new Set<string>();
  for (const file of files) {
    const ids = readFileSync(file, 'utf8').split('\n');
    assert.is(ids.length, PER_PROCESS);
    for (let i = 1; i < ids.length; i++) assert.ok(BigInt(ids[i]) > BigInt(ids[i - 1]), `${file}: id ${i} does not increase`);
    for (const id of ids) {
      assert.ok(!seen.has(id), `id ${id} repeated`);
      seen.add(id);
    }
  }
  assert.is(seen.size, 3 * PER_PROCESS);
}

test('3 processes × 20,000 ids: no repeats, each process strictly increasing, distinct leased node ids', async () => {
  const runs = generate('plain', { chunk: 2_000, gapMs: 1 });
  const done = await Promise.all(runs.map(({ fixture }) => fixture.waitForEvent('ids-done', 1, 60_000)));
  for (const [event] of done) assert.ok(event.increasing);
  checkIds(runs.map((r) => r.file));
  const nodeIds = runs.map(({ file }) => UNIQUE_ID.parse(readFileSync(file, 'utf8').split('\n')[0]).nodeId);
  assert.is(new Set(nodeIds).size, 3);
});

test('a brand-new Redis gives ids at once: no data-loss wait, even with a 60 s lease ttl', async () => {
  const fresh = new RedisServer();
  await fresh.start();
  try {
    const file = join(dir, 'fresh');
    const fixture = new FixtureProcess('test/fixtures/coord-app.ts', ['ids', JSON.stringify({ count: 2_000, file, chunk: 500, gapMs: 1 })], { BOXWIRE_REDIS_URL: fresh.url, BOXWIRE_ID_LEASE_TTL_MS: '60000', BOXWIRE_LOG: 'warn' });
    fixtures.push(fixture);
    // Treating the new Redis as one that lost its data would hold the first ids back a whole ttl (60 s).
    const [done] = await fixture.waitForEvent('ids-done', 1, 30_000);
    assert.is(done.unavailable, 0, 'no UNIQUE_ID() call failed');
    assert.ok(done.increasing);
    assert.is(new Set(readFileSync(file, 'utf8').split('\n')).size, 2_000);
    assert.not.match(fixture.stderr, /redis_data_lost/, 'a first start is not a data loss');
  } finally {
    await fresh.dispose();
  }
});

test('Redis killed -9 and restarted empty while 3 processes make ids: ids stop (fail closed) while the lease cannot be renewed, the loss is noticed, ids resume; no repeats', async () => {
  const runs = generate('restart', { chunk: 50, gapMs: 20 });
  await Promise.all(runs.map(({ fixture }) => fixture.waitFor((e) => e.event === 'ids-progress' && e.made >= 5_000, 1, 60_000)));
  await redis.kill9();
  // Down longer than the lease ttl (1.5 s): every process must stop making ids.
  await Promise.all(runs.map(({ fixture }) => fixture.until(() => (/unique_id\.lease_expired/.test(fixture.stderr) ? true : undefined), 30_000, () => 'the lease to run out while Redis is down')));
  await redis.start();
  const done = await Promise.all(runs.map(({ fixture }) => fixture.waitForEvent('ids-done', 1, 90_000)));
  for (const [event] of done) {
    assert.ok(event.increasing);
    assert.ok(event.unavailable > 0, 'UNIQUE_ID failed closed while the lease could not be renewed');
  }
  for (const { fixture } of runs) assert.match(fixture.stderr, /unique_id\.redis_data_lost/, 'the renewal on the emptied Redis noticed the loss');
  checkIds(runs.map((r) => r.file));
});

test("after a data loss, a newcomer that gets a live holder's node id starts above the ids that holder can still make", async () => {
  // A long ttl: the holder renews every 10 s, so it cannot notice the loss (and take its id back)
  // before the newcomer has leased it; the two then make ids with the same node id side by side.
  const ttlMs = 30_000;
  const own = await new RedisServer().start(); // no other holders: the fillers below take every other id
  const coordinator = new RedisCoordinator({ url: own.url });
  const generatorA = new SnowflakeGenerator();
  const generatorB = new SnowflakeGenerator();
  const holder = new NodeIdLease(coordinator, ttlMs, () => generatorA.lastMs);
  const newcomer = new NodeIdLease(coordinator, ttlMs, () => generatorB.lastMs);
  try {
    // A settled cluster: its epoch is old, so the holder's ids are at its clock.
    await own.cli('SET', 'boxwire:{node-ids}:epoch', '1:settled');
    await holder.ready();
    const nodeId = holder.nodeId;
    assert.ok(holder.floorMs <= Date.now(), 'no guard in an old epoch');
    await own.cli('FLUSHALL'); // the data loss: the holder's lease key, its high-water mark and the epoch are gone
    // Every other node id taken, so the newcomer must get the holder's.
    const fillers = await Promise.all(Array.from({ length: 1_023 }, (_, i) => coordinator.nodeIdLease(`filler-${i}`, 60_000, (nodeId + 1 + i) % 1_024)));
    assert.ok(fillers.every(Boolean));
    await newcomer.ready();
    assert.is(newcomer.nodeId, nodeId);
    assert.is(holder.state(), 'ok', 'the holder still uses its node id (it has not renewed since the loss)');
    assert.ok(newcomer.floorMs > Date.now() + ttlMs / 2, 'a lease in a new epoch starts its ids ahead of the clock');
    const idsA: bigint[] = [];
    const idsB: bigint[] = [];
    for (let round = 0; round < 200 && holder.state() === 'ok'; round++) {
      for (let i = 0; i < 50; i++) idsA.push(BigInt(generatorA.next(holder.nodeId, Date.now(), holder.floorMs)));
      for (let i = 0; i < 50; i++) idsB.push(BigInt(generatorB.next(newcomer.nodeId, Date.now(), newcomer.floorMs)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const b = new Set(idsB);
    assert.ok(idsA.every((id) => !b.has(id)), 'no id of the holder repeats one of the newcomer');
    assert.ok(idsB[0] > idsA[idsA.length - 1], "the newcomer's ids start above the holder's last");
  } finally {
    await coordinator.close();
    await own.dispose();
  }
});

test('in a process that has not leased yet, UNIQUE_ID() throws a clear error; after ready() it returns a string', async () => {
  configureRedis(redis.url);
  const error = (() => {
    try {
      UNIQUE_ID();
    } catch (e) {
      return e;
    }
  })();
  assert.instance(error, UniqueIdUnavailableError);
  assert.match((error as Error).message, /await UNIQUE_ID.ready\(\)/);
  await UNIQUE_ID.ready();
  const a = UNIQUE_ID();
  const b = await UNIQUE_ID(); // a string may be awaited too
  const c = await UNIQUE_ID.next();
  for (const id of [a, b, c]) assert.match(id, /^\d{1,20}$/);
  assert.ok(BigInt(a) < BigInt(b) && BigInt(b) < BigInt(c));
  // Within the first ttl of an epoch (the restart above) ids start up to ttl + 1 s ahead of the clock.
  const offset = UNIQUE_ID.parse(c).timestamp.getTime() - Date.now();
  assert.ok(offset > -5_000 && offset < 5_000 + 1_000 + 5_000, `id time ${offset} ms from now`);
});

test.run();
