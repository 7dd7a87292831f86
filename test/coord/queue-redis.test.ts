// QUEUE on a real redis-server: two consumer processes, one killed with -9 mid-way and restarted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FixtureEvent, FixtureProcess } from '../helpers/process-harness.js';
import { CoordRedisSuite } from '../helpers/coord-redis.js';
import { QUEUE } from '../../src/index.js';

const suite = new CoordRedisSuite(test, { args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
const { redis, fixtures } = suite;
const CONCURRENCY = 4;
const JOBS = 400;

function consumer(queue: string, extra: Record<string, unknown> = {}): FixtureProcess {
  return suite.start('consume', { queue, concurrency: CONCURRENCY, visibilityTimeoutMs: 2_000, jobMs: 15, ...extra });
}

async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function jobsOf(events: FixtureEvent[], name: 'start' | 'done'): number[] {
  return events.filter((e) => e.event === name).map((e) => e.job as number);
}

/** Pushes 400 jobs, runs two consumers, kills one with -9 after it finished some and restarts it. */
async function killAndRestart(queueName: string, duringRun?: () => Promise<void>) {
  const queue = QUEUE<number>(queueName);
  for (let i = 0; i < JOBS; i++) await queue.push(i);
  const steady = consumer(queueName);
  const victim = consumer(queueName);
  await victim.waitFor((e) => e.event === 'done', 40);
  victim.kill('SIGKILL');
  await victim.exited;
  // At the kill, the victim held at most CONCURRENCY claimed, unacknowledged jobs.
  const inFlightAtKill = jobsOf(victim.events, 'start').length - jobsOf(victim.events, 'done').length;
  if (duringRun) await duringRun();
  const restarted = consumer(queueName);
  await waitUntil(async () => (await queue.counts().catch(() => undefined))?.completed === JOBS, `${JOBS} completed`, 90_000);
  const counts = await queue.counts();
  const all = [steady, victim, restarted].flatMap((p) => p.events);
  steady.kill('SIGKILL');
  restarted.kill('SIGKILL');
  const starts = jobsOf(all, 'start');
  const done = new Set(jobsOf(all, 'done'));
  return { counts, starts, done, inFlightAtKill, restarted };
}

test('400 jobs, two consumers, one killed with -9 mid-way and restarted: every job done, duplicates ≤ jobs in flight', async () => {
  const { counts, starts, done, inFlightAtKill, restarted } = await killAndRestart('kill9');
  assert.equal(counts, { waiting: 0, delayed: 0, active: 0, completed: JOBS, failed: 0 });
  for (let i = 0; i < JOBS; i++) assert.ok(done.has(i), `job ${i} never finished`);
  const duplicates = starts.length - JOBS;
  assert.ok(duplicates <= CONCURRENCY, `${duplicates} duplicate runs; at most ${CONCURRENCY} jobs were in flight`);
  // The jobs the victim died with were taken over by another process on a later attempt.
  const retried = [restarted, ...fixtures].flatMap((p) => p.events).filter((e) => e.event === 'start' && e.attempt > 1);
  assert.ok(new Set(retried.map((e) => e.job)).size >= inFlightAtKill, `${inFlightAtKill} jobs were running in the killed process; ${retried.length} retries seen`);
});

test('Redis killed -9 and restarted (AOF, fsync always) while consumers run: every job still done, duplicates ≤ jobs in flight', async () => {
  const { counts, starts, done } = await killAndRestart('redis-restart', async () => {
    await redis.kill9();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await redis.start();
  });
  assert.equal(counts, { waiting: 0, delayed: 0, active: 0, completed: JOBS, failed: 0 });
  for (let i = 0; i < JOBS; i++) assert.ok(done.has(i), `job ${i} never finished`);
  // In flight: the victim's claims at its kill, plus the jobs running when Redis went away.
  assert.ok(starts.length - JOBS <= 3 * CONCURRENCY, `${starts.length - JOBS} duplicates`);
});

test('a job that throws is retried up to attempts, then kept as failed with its error; retryFailed puts it back', async () => {
  const queue = QUEUE<{ fail: boolean }>('failing');
  const seen: number[] = [];
  const stop = queue.process(async (data, job) => {
    seen.push(job.attempt);
    if (data.fail) throw new Error('bad input');
  });
  await queue.push({ fail: true }, { attempts: 3, backoffMs: 20 });
  await waitUntil(async () => (await queue.counts()).failed === 1, 'the job to fail');
  assert.equal(seen, [1, 2, 3]);
  const [failed] = await queue.failed();
  assert.match(failed.error, /bad input/);
  assert.is(failed.attemptsMade, 3);
  assert.is(await queue.retryFailed(), 1);
  await waitUntil(async () => (await queue.counts()).failed === 1 && seen.length === 6, 'the retried job to fail again');
  await stop();
});

test('delayed jobs run no earlier than their delay; counts show them as delayed meanwhile', async () => {
  const queue = QUEUE<string>('delayed');
  const ranAt: number[] = [];
  const pushedAt = Date.now();
  await queue.push('later', { delayMs: 600 });
  assert.is((await queue.counts()).delayed, 1);
  const stop = queue.process(() => void ranAt.push(Date.now()));
  await waitUntil(() => ranAt.length === 1, 'the delayed job');
  assert.ok(ranAt[0] - pushedAt >= 590, `ran after ${ranAt[0] - pushedAt} ms`);
  await stop();
  assert.is((await queue.counts()).completed, 1);
});

test('a consumer stopped gracefully (SIGTERM) finishes its running jobs and loses none', async () => {
  const queue = QUEUE<number>('graceful');
  for (let i = 0; i < 20; i++) await queue.push(i);
  const worker = consumer('graceful', { jobMs: 300, concurrency: 4 });
  await worker.waitFor((e) => e.event === 'start', 4);
  worker.kill('SIGTERM');
  const { code } = await worker.exited;
  assert.is(code, 0);
  const started = jobsOf(worker.events, 'start');
  const done = jobsOf(worker.events, 'done');
  assert.equal([...done].sort(), [...started].sort(), 'every job it started finished before it exited');
  const counts = await queue.counts();
  assert.is(counts.active, 0);
  assert.is(counts.completed + counts.waiting, 20);
});

test.run();
