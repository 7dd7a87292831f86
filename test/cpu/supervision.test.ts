import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { CpuApp } from '../helpers/cpu-driver.js';

function logLines(stderr: string, event: string): Array<Record<string, any>> {
  return stderr.split('\n').filter((line) => line.includes(`"event":"${event}"`)).map((line) => JSON.parse(line));
}

test('kill -9 of a worker: its pending request rejects with PeerDownError within 1 s; it returns with the same id', async () => {
  const app = new CpuApp({ FIXTURE_WORKERS: '3' });
  try {
    await app.ready();
    const oldPid = app.pids().get(2)!;
    const pending = app.run({ from: 1, op: 'request', to: 2, method: 'hang' });
    await app.waitForEvent('hanging');
    const killedAt = Date.now();
    process.kill(oldPid, 'SIGKILL');
    const result = await pending;
    const elapsed = Date.now() - killedAt;
    assert.is(result.error.name, 'PeerDownError');
    assert.ok(elapsed < 1000, `rejected after ${elapsed} ms`);
    await app.waitFor((e) => e.event === 'started' && e.worker === 2 && e.pid !== oldPid);
    const after = await app.run({ from: 1, op: 'request', to: 2, method: 'whoami' });
    assert.is(after.value.workerId, 2);
    assert.is.not(after.value.pid, oldPid);
    const crash = logLines(app.stderr, 'worker.crashed').find((l) => l.workerId === 2);
    assert.is(crash?.signal, 'SIGKILL');
  } finally {
    await app.stop();
  }
});

test('messages sent to a worker while it restarts wait in the outbox and arrive', async () => {
  const app = new CpuApp({ FIXTURE_WORKERS: '2' });
  try {
    await app.ready();
    const oldPid = app.pids().get(2)!;
    process.kill(oldPid, 'SIGKILL');
    await app.waitFor((e) => e.event === 'exit' && e.exitedPid === oldPid);
    // Sent while worker 2 is down: queued by the master, delivered to the new process.
    const result = await app.run({ from: 1, op: 'request', to: 2, method: 'whoami' });
    assert.is(result.value.workerId, 2);
    assert.is.not(result.value.pid, oldPid);
  } finally {
    await app.stop();
  }
});

test('a worker that throws at start-up is restarted with growing delays, not in a hot loop', async () => {
  const app = new CpuApp({ FIXTURE_WORKERS: '2', FIXTURE_CRASH_WORKER: '2' });
  try {
    await app.until(() => (logLines(app.stderr, 'worker.crashed').length >= 4 ? true : undefined), 30_000);
    const delays = logLines(app.stderr, 'worker.crashed').filter((l) => l.workerId === 2).map((l) => l.restartInMs);
    assert.equal(delays.slice(0, 4), [100, 200, 400, 800]);
    const failures = logLines(app.stderr, 'worker.start_failed');
    assert.ok(failures.length >= 4 && failures[0].error.message === 'crash at start-up');
    assert.ok(logLines(app.stderr, 'worker.crashed').every((l) => l.code === 1));
    // Worker 1 is unaffected.
    const ok = await app.run({ from: 0, op: 'request', to: 1, method: 'echo', data: 'still here' });
    assert.is(ok.value, 'still here');
  } finally {
    await app.stop();
  }
});

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c)).on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

test('SIGUSR2: rolling restart with zero failed HTTP requests; every worker pid replaced', async () => {
  const port = 20000 + (process.pid % 20000);
  const app = new CpuApp({ FIXTURE_WORKERS: '2', FIXTURE_HTTP_PORT: String(port) });
  // Outside the try: a failed wait must stop the client loop too, or the file never exits.
  let looping = true;
  try {
    await app.ready();
    const before = [...app.pids().values()];
    let ok = 0;
    const failures: string[] = [];
    const seen = new Set<string>();
    const client = (async () => {
      while (looping) {
        try {
          seen.add(await get(port));
          ok++;
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    })();
    await app.until(() => (ok > 20 ? true : undefined));
    app.kill('SIGUSR2');
    await app.waitFor((e) => e.event === 'exit' && before.includes(e.exitedPid), before.length, 60_000);
    const after = [...app.pids().values()];
    const okAtSwitch = ok;
    await app.until(() => (ok > okAtSwitch + 20 ? true : undefined));
    looping = false;
    await client;
    assert.equal(failures, []);
    assert.is(after.length, 2);
    assert.ok(after.every((pid) => !before.includes(pid)), 'every pid replaced');
    assert.ok(after.every((pid) => seen.has(String(pid))), 'new workers served requests');
    const exits = app.events.filter((e) => e.event === 'exit');
    assert.ok(exits.every((e) => e.code === 0), 'old workers exited cleanly');
  } finally {
    looping = false;
    await app.stop();
  }
});

test('SIGTERM: shutdown hooks run in every process; exit code 0 within the grace period', async () => {
  const app = new CpuApp({ FIXTURE_WORKERS: '2', FIXTURE_GRACE_MS: '5000' });
  await app.ready();
  app.kill('SIGTERM');
  const { code } = await app.exited;
  assert.is(code, 0);
  const hooks = app.events.filter((e) => e.event === 'hook').map((e) => e.worker).sort();
  assert.equal(hooks, [0, 1, 2]);
});

test('SIGTERM: a request in flight finishes before its worker stops', async () => {
  const app = new CpuApp({ FIXTURE_WORKERS: '2', FIXTURE_GRACE_MS: '5000' });
  await app.ready();
  const pending = app.run({ from: 0, op: 'request', to: 1, method: 'later', data: { ms: 500 } });
  await app.waitForEvent('later');
  app.kill('SIGTERM');
  const result = await pending;
  assert.equal(result.value, { waited: 500 });
  assert.is((await app.exited).code, 0);
});

test.run();
