// The embedded coordinator's rules with a controlled clock (the state a server's master keeps), and
// the snowflake generator's ordering when the clock misbehaves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EmbeddedCoordinator } from '../../src/coord/embedded-coordinator.js';
import { SnowflakeGenerator, parseSnowflake } from '../../src/coord/snowflake.js';
import { decode, encode } from '../../src/core/codec.js';

function setup() {
  const clock = { now: 1_800_000_000_000 };
  return { clock, coord: new EmbeddedCoordinator(() => clock.now) };
}
const push = { delayMs: 0, attempts: 2, backoffMs: 100 };

test('a claim that is not renewed expires: the job runs again (first in line), then fails when its attempts are used up', async () => {
  const { clock, coord } = setup();
  await coord.queuePush('q', encode('a'), push);
  await coord.queuePush('q', encode('b'), push);
  const first = await coord.queueClaim('q', 'p1.x', 1_000, 1);
  assert.equal(first.jobs.map((j) => [decode(j.payload), j.attempt]), [['a', 1]]);
  assert.is(first.nextDueMs, 1_000);
  clock.now += 1_001;
  const second = await coord.queueClaim('q', 'p2.y', 1_000, 1);
  assert.equal(second.jobs.map((j) => [decode(j.payload), j.attempt]), [['a', 2]], 'the taken-over job goes first');
  // The first claimant's late acknowledgements: a failure is stale, a completion still counts once.
  assert.is(await coord.queueFail('q', first.jobs[0].id, first.jobs[0].token, 'late'), 'stale');
  assert.equal(await coord.queueExtend('q', [[first.jobs[0].id, first.jobs[0].token]], 1_000), [first.jobs[0].id]);
  clock.now += 1_001;
  await coord.queueClaim('q', 'p3.z', 1_000, 0);
  assert.equal(await coord.queueCounts('q'), { waiting: 1, delayed: 0, active: 0, completed: 0, failed: 1 });
  assert.match((await coord.queueFailed('q', 10))[0].error, /visibility timeout/);
});

test('a thrown job waits backoff × 2^(retry−1), then runs again; retryFailed resets its attempts', async () => {
  const { clock, coord } = setup();
  await coord.queuePush('q', encode('x'), { delayMs: 0, attempts: 3, backoffMs: 100 });
  let [job] = (await coord.queueClaim('q', 'p.1', 5_000, 1)).jobs;
  assert.is(await coord.queueFail('q', job.id, job.token, 'boom'), 'retrying');
  assert.equal((await coord.queueClaim('q', 'p.1', 5_000, 1)).jobs, []);
  clock.now += 100;
  [job] = (await coord.queueClaim('q', 'p.1', 5_000, 1)).jobs;
  assert.is(job.attempt, 2);
  assert.is(await coord.queueFail('q', job.id, job.token, 'boom'), 'retrying');
  clock.now += 199;
  assert.equal((await coord.queueClaim('q', 'p.1', 5_000, 1)).jobs, [], 'second retry waits 200 ms');
  clock.now += 1;
  [job] = (await coord.queueClaim('q', 'p.1', 5_000, 1)).jobs;
  assert.is(await coord.queueFail('q', job.id, job.token, 'boom'), 'failed');
  assert.is(await coord.queueRetryFailed('q'), 1);
  [job] = (await coord.queueClaim('q', 'p.1', 5_000, 1)).jobs;
  assert.is(job.attempt, 1);
  assert.ok(await coord.queueComplete('q', job.id, job.token));
  assert.equal(await coord.queueCounts('q'), { waiting: 0, delayed: 0, active: 0, completed: 1, failed: 0 });
});

test('a dead process gives back its locks and running jobs at once', async () => {
  const { coord } = setup();
  assert.ok('fence' in (await coord.lockAcquire('l', 'p42.t', 60_000)));
  await coord.queuePush('q', encode('j'), push);
  await coord.queueClaim('q', 'p42.t', 60_000, 1);
  coord.forgetProcess(42);
  assert.ok('fence' in (await coord.lockAcquire('l', 'p7.t', 60_000)));
  assert.equal((await coord.queueCounts('q')).waiting, 1);
});

test('fences strictly increase, also when the clock steps back; an expired lock can be taken', async () => {
  const { clock, coord } = setup();
  const fences: number[] = [];
  for (let i = 0; i < 5; i++) {
    const got = await coord.lockAcquire('l', `p1.${i}`, 1_000);
    assert.ok('fence' in got);
    fences.push(got.fence);
    await coord.lockRelease('l', `p1.${i}`);
    clock.now -= 10_000;
  }
  for (let i = 1; i < fences.length; i++) assert.ok(fences[i] > fences[i - 1]);
  await coord.lockAcquire('l', 'p1.held', 1_000);
  assert.equal(await coord.lockAcquire('l', 'p2.x', 1_000), { busyForMs: 1_000 });
  assert.is(await coord.lockRelease('l', 'p2.x'), false, 'only the holder releases');
  clock.now += 1_000;
  assert.ok('fence' in (await coord.lockAcquire('l', 'p2.x', 1_000)));
  assert.is(await coord.lockRenew('l', 'p1.held', 1_000), false);
});

test('snowflake ids strictly increase when the clock steps back, the sequence overflows, or the node id changes', () => {
  const generator = new SnowflakeGenerator();
  const now = Date.UTC(2026, 0, 1);
  const ids: bigint[] = [];
  for (let i = 0; i < 5_000; i++) ids.push(BigInt(generator.next(5, now))); // > 4,096 in one ms
  for (let i = 0; i < 10; i++) ids.push(BigInt(generator.next(5, now - 60_000))); // clock stepped back
  ids.push(BigInt(generator.next(1, now))); // a lower node id in the same ms
  ids.push(BigInt(generator.next(1, now, now + 5_000))); // a previous holder's high-water mark
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `id ${i}`);
  const last = parseSnowflake(ids[ids.length - 1].toString());
  assert.is(last.nodeId, 1);
  assert.is(last.timestamp.getTime(), now + 5_000);
  assert.throws(() => parseSnowflake('not-an-id'), /not a UNIQUE_ID id/);
});

test.run();
