// Start-up order (issue 12): a worker takes messages as soon as its process is up, before its
// work() is done. Requests awaited in work() — to MASTER and to the other starting worker, each
// awaiting the other — are answered at once; a method registered later in work() gets what
// waited for it, in the order sent; a method never registered gets the no-handler answer once
// work() is done, not a timeout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FixtureProcess } from '../helpers/process-harness.js';

test('requests awaited in work() to MASTER and to a starting worker (mutually) are answered within 2 s', async () => {
  const app = new FixtureProcess('test/fixtures/startup-app.ts', [], { STARTUP_MODE: 'cpu' });
  try {
    const started = await app.waitForEvent('started', 2, 30_000);
    for (const event of started) {
      assert.ok(event.master.value, `worker ${event.worker}: master answered (${JSON.stringify(event.master)})`);
      assert.equal(event.master.value, { for: event.worker, secret: 42 });
      assert.ok(event.master.ms < 2000, `worker ${event.worker}: master answered in ${event.master.ms} ms`);
      assert.equal(event.peer.value, { hello: event.worker, from: event.worker === 1 ? 2 : 1 }, JSON.stringify(event.peer));
      assert.ok(event.peer.ms < 2000, `worker ${event.worker}: the other worker answered in ${event.peer.ms} ms`);
    }
    await app.waitForEvent('ready', 1, 10_000);
  } finally {
    await app.stop();
  }
});

test('messages for a method registered later in work() wait for it, in the order sent; a never-registered method fails once work() is done', async () => {
  const app = new FixtureProcess('test/fixtures/startup-app.ts', [], { STARTUP_MODE: 'cpu' });
  try {
    const [seq] = await app.waitForEvent('seq', 1, 30_000);
    assert.equal(seq.received, Array.from({ length: 200 }, (_, n) => n), 'every seq message, in order');
    const [late] = await app.waitForEvent('late', 1, 30_000);
    assert.equal(late.value, { late: 'x' }, JSON.stringify(late));
    const [never] = await app.waitForEvent('never', 1, 30_000);
    assert.match(never.error, /no handler for 'never'/);
    const [worker2Started] = await app.waitFor((e) => e.event === 'started' && e.worker === 2, 1, 30_000);
    const [worker1Up] = await app.waitFor((e) => e.event === 'up' && e.worker === 1);
    // Held, not refused on arrival: the answer came only once worker 2's work() was done.
    assert.ok(worker1Up.at + never.ms >= worker2Started.at, `no-handler answer (${worker1Up.at + never.ms}) not before worker 2's work() ended (${worker2Started.at})`);
  } finally {
    await app.stop();
  }
});

test.run();
