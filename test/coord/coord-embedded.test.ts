// LOCK, QUEUE and UNIQUE_ID without Redis: one server, CPU_CLUSTERING with 2 workers, the state in
// the master (test/fixtures/coord-app.ts with FIXTURE_WORKERS=2 and no BOXWIRE_REDIS_URL).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixtureProcess } from '../helpers/process-harness.js';
import { freeTcpPort } from '../helpers/redis-server.js';
import { LOCK, LockBusyError, QUEUE, UNIQUE_ID } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'boxwire-embedded-'));
const fixtures: FixtureProcess[] = [];
const env = { BOXWIRE_REDIS_URL: '', BOXWIRE_REDIS_CLUSTER: '' };

function cluster(scenario: string, args: Record<string, unknown>, workers = 2): FixtureProcess {
  const fixture = new FixtureProcess('test/fixtures/coord-app.ts', [scenario, JSON.stringify(args)], { ...env, FIXTURE_WORKERS: String(workers) });
  fixtures.push(fixture);
  return fixture;
}

test.after(async () => {
  await Promise.all(fixtures.map((f) => f.stop()));
  rmSync(dir, { recursive: true, force: true });
});

test('2 workers × 300 read-modify-writes under one LOCK lose nothing; fences strictly increase', async () => {
  const counterFile = join(dir, 'counter');
  const fenceFile = join(dir, 'fences');
  writeFileSync(counterFile, '0');
  writeFileSync(fenceFile, '');
  const app = cluster('lockLoop', { iterations: 300, counterFile, fenceFile });
  const results = await app.waitForEvent('lock-done', 2, 60_000);
  for (const r of results) assert.equal([r.runs, r.errors], [300, []]);
  assert.is(Number(readFileSync(counterFile, 'utf8')), 600);
  const fences = readFileSync(fenceFile, 'utf8').split('\n').filter(Boolean).map(Number);
  assert.is(fences.length, 600);
  for (let i = 1; i < fences.length; i++) assert.ok(fences[i] > fences[i - 1]);
  await app.stop();
});

test('a worker killed with -9 while holding a lock frees it at once (well within its 60 s ttl)', async () => {
  const app = cluster('lockKill', {});
  const [first] = await app.waitForEvent('held');
  process.kill(first.pid!, 'SIGKILL');
  const killedAt = Date.now();
  const [, second] = await app.waitForEvent('held', 2, 20_000);
  assert.is.not(second.pid, first.pid);
  assert.ok(second.fence > first.fence);
  assert.ok(Date.now() - killedAt < 10_000);
  await app.stop();
});

test('a queue across 2 workers: every job done once; a worker killed -9 mid-way: its jobs are retried, duplicates ≤ jobs in flight', async () => {
  const app = cluster('queueCluster', { count: 400, concurrency: 4, jobMs: 10 });
  await app.waitFor((e) => e.event === 'done' && e.worker === 2, 40, 60_000);
  const victim = app.events.find((e) => e.worker === 2)!.pid!;
  process.kill(victim, 'SIGKILL');
  const [{ counts }] = await app.waitForEvent('queue-complete', 1, 90_000);
  assert.equal(counts, { waiting: 0, delayed: 0, active: 0, completed: 400, failed: 0 });
  const starts = app.events.filter((e) => e.event === 'start');
  const done = new Set(app.events.filter((e) => e.event === 'done').map((e) => e.job));
  for (let i = 0; i < 400; i++) assert.ok(done.has(i), `job ${i} never finished`);
  assert.ok(starts.length - 400 <= 4, `${starts.length - 400} duplicates; at most 4 were in flight in the killed worker`);
  assert.ok(new Set(starts.map((e) => e.worker)).size === 2, 'both workers ran jobs');
  await app.stop();
});

test('2 workers × 20,000 ids: no repeats, each strictly increasing, node id = worker id', async () => {
  const file = join(dir, 'ids');
  const app = cluster('ids', { count: 20_000, file, chunk: 2_000, gapMs: 1 });
  await app.waitForEvent('ids-done', 2, 60_000);
  const seen = new Set<string>();
  for (const worker of [1, 2]) {
    const ids = readFileSync(`${file}.${worker}`, 'utf8').split('\n');
    assert.is(ids.length, 20_000);
    for (let i = 1; i < ids.length; i++) assert.ok(BigInt(ids[i]) > BigInt(ids[i - 1]));
    for (const id of ids) seen.add(id);
    assert.is(UNIQUE_ID.parse(ids[0]).nodeId, worker);
  }
  assert.is(seen.size, 40_000);
  await app.stop();
});

test('on a cluster of several servers without Redis, the first LOCK / QUEUE / UNIQUE_ID says Redis is needed', async () => {
  const app = cluster('multiServerWithoutRedis', { port: await freeTcpPort() }, 0);
  const [{ outcomes }] = await app.waitForEvent('multi-server', 1, 30_000);
  for (const name of ['lock', 'queue', 'id']) {
    assert.is(outcomes[name].code, 'BOXWIRE_CONFIG', name);
    assert.match(outcomes[name].message, /needs Redis: set BOXWIRE_REDIS_URL/);
  }
  await app.stop();
});

test('in one process without clustering: LockBusyError, queue counts, ids at once', async () => {
  const error = await LOCK('solo', { ttlMs: 1_000 }, () => LOCK('solo', { waitMs: 100 }, () => 'ran')).catch((e) => e);
  assert.instance(error, LockBusyError);
  const queue = QUEUE<string>('solo');
  await queue.push('a');
  await queue.push('b', { delayMs: 60_000 });
  assert.equal(await queue.counts(), { waiting: 1, delayed: 1, active: 0, completed: 0, failed: 0 });
  assert.match(UNIQUE_ID(), /^\d+$/);
});

test.run();
