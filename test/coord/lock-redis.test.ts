// LOCK on a real redis-server with separate processes (test/fixtures/coord-app.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordRedisSuite } from '../helpers/coord-redis.js';
import { RedisServer } from '../helpers/redis-server.js';
import { LOCK, LockBusyError } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'boxwire-lock-'));
const suite = new CoordRedisSuite(test, { args: ['--appendonly', 'yes', '--appendfsync', 'always'] }, () => rmSync(dir, { recursive: true, force: true }));
const redis = suite.redis;
const start = (scenario: string, args: Record<string, unknown>) => suite.start(scenario, args);

function fences(file: string): number[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
}

function assertStrictlyIncreasing(values: number[]): void {
  for (let i = 1; i < values.length; i++) assert.ok(values[i] > values[i - 1], `fence ${values[i]} at ${i} is not above ${values[i - 1]}`);
}

async function waitForLines(file: string, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (fences(file).length < count) {
    if (Date.now() > deadline) throw new Error(`${file} never reached ${count} lines`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function lockLoopRun(name: string, during?: (fenceFile: string) => Promise<void>) {
  const counterFile = join(dir, `${name}.counter`);
  const fenceFile = join(dir, `${name}.fences`);
  writeFileSync(counterFile, '0');
  writeFileSync(fenceFile, '');
  const iterations = 300;
  const processes = [1, 2, 3].map(() => start('lockLoop', { iterations, counterFile, fenceFile, ttlMs: 3_000 }));
  if (during) await during(fenceFile);
  const results = (await Promise.all(processes.map((p) => p.waitForEvent('lock-done', 1, 120_000)))).map(([e]) => e);
  return { results, counter: Number(readFileSync(counterFile, 'utf8')), fences: fences(fenceFile), iterations };
}

test('3 processes × 300 read-modify-writes under one LOCK lose nothing; fences strictly increase in lock order', async () => {
  const { results, counter, fences, iterations } = await lockLoopRun('plain');
  for (const r of results) {
    assert.equal(r.errors, []);
    assert.is(r.runs, iterations);
    assert.is(r.aborted, 0);
  }
  assert.is(counter, 3 * iterations);
  assert.is(fences.length, 3 * iterations);
  assertStrictlyIncreasing(fences);
});

test('a held lock gives LockBusyError after waitMs, and fn does not run', async () => {
  const holder = start('lockHold', { name: 'busy', ttlMs: 2_000 });
  await holder.waitForEvent('held');
  let ran = false;
  const started = Date.now();
  const error = await LOCK('busy', { waitMs: 300 }, () => (ran = true)).catch((e) => e);
  assert.instance(error, LockBusyError);
  assert.is(error.code, 'BOXWIRE_LOCK_BUSY');
  assert.is(ran, false);
  assert.ok(Date.now() - started >= 300);
  holder.kill('SIGKILL');
  await holder.exited;
});

test('a holder killed with -9 frees the lock within its ttl; the next fence is higher', async () => {
  const ttlMs = 2_000;
  const holder = start('lockHold', { name: 'killed', ttlMs });
  const [{ fence }] = await holder.waitForEvent('held');
  holder.kill('SIGKILL');
  await holder.exited;
  const killedAt = Date.now();
  const next = await LOCK('killed', { waitMs: 10_000 }, (lease) => lease.fence);
  const waited = Date.now() - killedAt;
  assert.ok(waited <= ttlMs + 500, `got the lock ${waited} ms after the kill (ttl ${ttlMs})`);
  assert.ok(next > fence);
});

test('a holder is woken by a release, not by polling: the waiter gets the lock soon after release', async () => {
  const holder = start('lockHold', { name: 'handoff', ttlMs: 10_000, holdMs: 700 });
  await holder.waitForEvent('held');
  const fence = await LOCK('handoff', { waitMs: 10_000 }, (lease) => lease.fence);
  const [released] = await holder.waitForEvent('released');
  assert.ok(fence > 0 && released);
});

async function scriptCalls(): Promise<number> {
  const { stdout } = await redis.cli('INFO', 'commandstats');
  return [...stdout.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

test('a waiter does not spin on Redis: a few dozen attempts over a 2 s wait, and it gets the lock right after the release', async () => {
  const holder = start('lockHold', { name: 'patient', ttlMs: 10_000, holdMs: 2_000 });
  await holder.waitForEvent('held');
  const before = await scriptCalls();
  const fence = await LOCK('patient', { waitMs: 20_000 }, (lease) => lease.fence);
  const calls = (await scriptCalls()) - before;
  assert.ok(fence > 0);
  // Attempts back off to one per ≤ 250 ms (or are woken by the release): ~10–30 over 2 s, not thousands.
  assert.ok(calls < 80, `${calls} script calls while waiting about 2 s`);
});

test('Redis restarted (AOF, fsync always) during the 3-process run: nothing lost, fences still increase', async () => {
  let restartedAt = 0;
  const { results, counter, fences } = await lockLoopRun('restart-persistent', async (fenceFile) => {
    await waitForLines(fenceFile, 100);
    await redis.kill9();
    await redis.start();
    restartedAt = readFileSync(fenceFile, 'utf8').split('\n').length;
  });
  assert.ok(restartedAt < 850, 'the restart happened while the processes were still locking');
  const runs = results.reduce((sum, r) => sum + r.runs, 0);
  // Every call either ran fn or said why not; none vanished.
  for (const r of results) assert.is(r.runs + r.errors.length, 300);
  assert.is(counter, runs);
  assertStrictlyIncreasing(fences);
  assert.is(fences.length, runs);
});

test('Redis restarted WITHOUT persistence: fences keep increasing (clock floor), a holder that spans it sees lease.signal abort', async () => {
  const volatile = new RedisServer();
  await volatile.start();
  try {
    const holder = suite.start('lockHold', { name: 'volatile', ttlMs: 1_500 }, {}, volatile.url);
    const [{ fence: before }] = await holder.waitForEvent('held');
    await volatile.kill9();
    await volatile.start(); // empty: the lock key and the fence counter are gone
    const other = suite.start('lockHold', { name: 'volatile', ttlMs: 1_500 }, {}, volatile.url);
    const [{ fence: after }] = await other.waitForEvent('held');
    assert.ok(after > before, `fence after the restart ${after} must exceed ${before}`);
    // The first holder's renewal finds the lock gone or someone else's: its signal aborts.
    const [lost] = await holder.waitForEvent('lease-lost', 1, 10_000);
    assert.match(lost.reason, /expired or was taken over|ran out/);
    holder.kill('SIGKILL');
    other.kill('SIGKILL');
  } finally {
    await volatile.dispose();
  }
});

test.run();
