// Start-up order (issue 12), between servers: a server opens its links before work(), so a request
// awaited in work() to another server — starting at the same time, or itself awaiting this one —
// is answered; with CPU clustering too (each worker's work() waits for its master's links). A
// request to a server that never comes makes the process say what it waits for, instead of
// hanging silently.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FixtureProcess, type FixtureEvent } from '../helpers/process-harness.js';
import { freePort, loopbackHosts } from '../helpers/server-driver.js';

function startServer(name: string, hosts: Record<string, string>, port: number, peers: string[], workers: number, env: Record<string, string> = {}): FixtureProcess {
  return new FixtureProcess('test/fixtures/startup-app.ts', [], {
    STARTUP_MODE: 'server', FIXTURE_SERVER: name, FIXTURE_HOSTS: JSON.stringify(hosts), FIXTURE_PORT: String(port),
    FIXTURE_WORKERS: String(workers), STARTUP_PEERS: peers.join(','), ...env,
  });
}

function assertAnswered(started: FixtureEvent, peer: string, upAt: number): void {
  const answer = started.answers[peer];
  assert.ok(answer?.value, `${started.server} worker ${started.worker}: ${peer} answered (${JSON.stringify(answer)})`);
  assert.is(answer.value.server, peer);
  // Answered within 2 s of the later of the two being up (the earlier one waits for it to exist).
  assert.ok(started.at - upAt < 2000, `${started.server} worker ${started.worker}: answered ${started.at - upAt} ms after ${peer} was up`);
}

test('two servers whose work() each awaits a request to the other both get their answers (no CPU clustering)', async () => {
  const port = await freePort();
  const hosts = loopbackHosts(['A', 'B']);
  const a = startServer('A', hosts, port, ['B'], 0);
  const b = startServer('B', hosts, port, ['A'], 0);
  try {
    const [upA] = await a.waitForEvent('up', 1, 30_000);
    const [upB] = await b.waitForEvent('up', 1, 30_000);
    const [startedA] = await a.waitForEvent('started', 1, 30_000);
    const [startedB] = await b.waitForEvent('started', 1, 30_000);
    const later = Math.max(upA.at, upB.at);
    assertAnswered(startedA, 'B', later);
    assertAnswered(startedB, 'A', later);
    await Promise.all([a.waitForEvent('ready'), b.waitForEvent('ready')]);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

for (const nest of ['cpu-outer', 'server-outer']) test(`with CPU clustering (${nest}): every worker of a server started later, and of the one already waiting for it, is answered`, async () => {
  const port = await freePort();
  const hosts = loopbackHosts(['A', 'B']);
  const b = startServer('B', hosts, port, ['A'], 2, { STARTUP_NEST: nest });
  let a: FixtureProcess | undefined;
  try {
    // B's workers are in work(), awaiting A, which is not started yet.
    await b.waitForEvent('up', 2, 30_000);
    a = startServer('A', hosts, port, ['B'], 2, { STARTUP_NEST: nest });
    const ups = await a.waitForEvent('up', 2, 30_000);
    const startedA = await a.waitForEvent('started', 2, 30_000);
    const startedB = await b.waitForEvent('started', 2, 30_000);
    const aUp = Math.min(...ups.map((e) => e.at));
    for (const started of startedA) assertAnswered(started, 'B', aUp);
    for (const started of startedB) assertAnswered(started, 'A', aUp);
    await Promise.all([a.waitForEvent('ready'), b.waitForEvent('ready')]);
  } finally {
    await Promise.all([a?.stop(), b.stop()]);
  }
});

test('rolling restart (SIGUSR2) of a clustered server: each replacement worker joins its master and gets its answer from the other server', async () => {
  const port = await freePort();
  const hosts = loopbackHosts(['A', 'B']);
  const a = startServer('A', hosts, port, ['B'], 2);
  const b = startServer('B', hosts, port, [], 0);
  try {
    await Promise.all([a.waitForEvent('ready', 1, 30_000), b.waitForEvent('ready', 1, 30_000)]);
    const first = await a.waitForEvent('started', 2);
    a.child.kill('SIGUSR2');
    // Replies to a replacement (its master's join answer, B's answer) reach it, not the old process.
    const all = await a.waitForEvent('started', 4, 60_000);
    const replacements = all.filter((e) => !first.some((f) => f.pid === e.pid));
    assert.is(replacements.length, 2, JSON.stringify(all));
    for (const started of replacements) assert.ok(started.answers.B?.value?.server === 'B', JSON.stringify(started));
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('work() awaiting a server that is down: a warning after a few seconds names the request and that server', async () => {
  const port = await freePort();
  const hosts = loopbackHosts(['A', 'B', 'C']);
  const a = startServer('A', hosts, port, ['C'], 0, { BOXWIRE_START_WARN_MS: '1000' });
  try {
    await a.waitForEvent('up', 1, 30_000);
    const line = await a.until(() => a.stderr.split('\n').find((l) => l.includes('"start.waiting"')), 20_000, () => 'a start.waiting warning');
    const warning = JSON.parse(line);
    assert.is(warning.level, 'warn');
    assert.ok(warning.waitingFor.some((what: string) => what.includes("'whoami'") && what.includes('C') && what.includes('not connected')), line);
  } finally {
    await a.stop();
  }
});

test.run();
