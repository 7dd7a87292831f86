// The process contract the layers above cpu/ use (Endpoint, reached through cpu/index.ts), on a
// real master and workers: worker count, isForkedWorker, worker-down events, sending to a process
// by pid, and routing of system messages by an explicit table rather than a name prefix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isForkedWorker } from '../../src/cpu/index.js';
import { FixtureProcess } from '../helpers/process-harness.js';

test('isForkedWorker: false in a process that is no cluster worker, even with the variable set', () => {
  const before = process.env.BOXWIRE_WORKER_ID;
  process.env.BOXWIRE_WORKER_ID = '1';
  try {
    assert.is(isForkedWorker(), false);
  } finally {
    if (before === undefined) delete process.env.BOXWIRE_WORKER_ID;
    else process.env.BOXWIRE_WORKER_ID = before;
  }
});

test('master and workers through the contract', async () => {
  const app = new FixtureProcess('test/fixtures/process-contract-app.ts');
  try {
    const [master] = await app.waitForEvent('master', 1, 60_000);
    assert.is(master.forked, false);
    assert.is(master.workerCount, 2);
    const workers = await app.waitForEvent('worker', 2, 60_000);
    for (const worker of workers) {
      assert.is(worker.forked, true);
      assert.is(worker.workerCount, 2);
    }
    // One-way `bw.`-named system messages from workers reach the master's handler.
    const notes = await app.waitForEvent('note', 2, 60_000);
    assert.equal(notes.map((n) => n.from).sort(), [1, 2]);
    // Straight to a process by pid: delivered to the right one; a wrong pid is refused.
    const sent = await app.waitForEvent('sent-direct', 2, 60_000);
    for (const s of sent) {
      assert.is(s.delivered, true);
      assert.is(s.wrongPid, false);
    }
    const direct = await app.waitFor((e) => e.event === 'direct', 2, 60_000);
    assert.ok(direct.every((d) => d.to === d.worker), 'each worker got its own message');
    // Worker 2 was told to exit: the master's listeners hear it is down, and it comes back.
    const [down] = await app.waitForEvent('worker-down', 1, 60_000);
    assert.is(down.id, 2);
    await app.waitFor((e) => e.event === 'worker' && e.workerId === 2, 2, 60_000);
  } finally {
    await app.stop();
  }
});

test.run();
