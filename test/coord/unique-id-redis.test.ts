// UNIQUE_ID on a real redis-server: 3 processes × 20,000 ids, also across a Redis restart.
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
    const fixture = new FixtureProcess('test/fixtures/coord-app.ts', ['ids', JSON.stringify({ count: PER_PROCESS, file, ...extra })], { BOXWIRE_REDIS_URL: redis.url, BOXWIRE_ID_LEASE_TTL_MS: '1500' });
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

test('Redis killed -9 and restarted empty while 3 processes make ids: no repeats; ids stop (fail closed) rather than risk one', async () => {
  const runs = generate('restart', { chunk: 50, gapMs: 20 });
  await Promise.all(runs.map(({ fixture }) => fixture.waitFor((e) => e.event === 'ids-progress' && e.made >= 5_000, 1, 60_000)));
  await redis.kill9();
  // Down longer than the lease ttl (1.5 s): every process must stop making ids.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  await redis.start();
  const done = await Promise.all(runs.map(({ fixture }) => fixture.waitForEvent('ids-done', 1, 90_000)));
  for (const [event] of done) {
    assert.ok(event.increasing);
    assert.ok(event.unavailable > 0, 'UNIQUE_ID failed closed while the lease could not be renewed');
  }
  checkIds(runs.map((r) => r.file));
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
  assert.ok(Math.abs(UNIQUE_ID.parse(c).timestamp.getTime() - Date.now()) < 5_000);
});

test.run();
