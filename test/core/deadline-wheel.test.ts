// The deadline wheel: deadlines rounded up to ticks, one timer per tick, a count per tick.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { DeadlineWheel } from '../../src/core/deadline-wheel.js';
import { repoRoot } from '../helpers/process-harness.js';

/** A wheel that records each expired tick and the time it expired at; `until(n)` waits for n of them. */
function recordingWheel(resolutionMs = 10) {
  const expired: Array<{ tick: number; at: number }> = [];
  let wake = () => {};
  const wheel = new DeadlineWheel((tick) => {
    expired.push({ tick, at: Date.now() });
    wake();
  }, resolutionMs);
  /** Waits until `n` ticks expired, or until `done` says so. */
  const until = (n: number, done = () => expired.length >= n) => new Promise<void>((resolve) => {
    const check = () => (done() ? resolve() : (wake = check));
    check();
  });
  return { wheel, expired, until };
}

test('a deadline is filed under the tick that rounds its time up; it expires no earlier than its timeout', async () => {
  const { wheel, expired, until } = recordingWheel(10);
  const before = Date.now();
  const tick = wheel.add(35);
  const after = Date.now();
  assert.ok(tick >= Math.ceil((before + 35) / 10) && tick <= Math.ceil((after + 35) / 10), `tick ${tick}`);
  await until(1);
  assert.is(expired[0].tick, tick);
  // Node's timers have 1 ms granularity; never earlier than the tick's time beyond that.
  assert.ok(expired[0].at >= tick * 10 - 1, `expired ${tick * 10 - expired[0].at} ms early`);
  assert.ok(expired[0].at >= before + 35 - 1);
});

test('ticks expire in deadline order, whatever order they were added in', async () => {
  const { wheel, expired, until } = recordingWheel(10);
  const ticks = [wheel.add(90), wheel.add(30), wheel.add(60), wheel.add(120)];
  await until(4);
  assert.equal(expired.map((e) => e.tick), [...ticks].sort((a, b) => a - b));
});

test('deadlines in one tick share it: 1,000 added at once expire as at most two ticks', async () => {
  const { wheel, expired, until } = recordingWheel(50);
  const ticks = new Set<number>();
  for (let i = 0; i < 1000; i++) ticks.add(wheel.add(100));
  assert.ok(ticks.size <= 2, `${ticks.size} ticks`);
  await until(ticks.size);
  assert.equal(new Set(expired.map((e) => e.tick)), ticks);
});

test('removal: a tick whose deadlines were all removed does not expire; one with a deadline left does', async () => {
  const { wheel, expired, until } = recordingWheel(10);
  const settled = wheel.add(20);
  wheel.add(20 + 0); // same timeout: same tick or the next, and it stays
  const emptied = wheel.add(40);
  wheel.remove(emptied);
  const kept = wheel.add(60);
  const extra = wheel.add(60);
  wheel.remove(extra); // the tick keeps one deadline
  const sentinel = wheel.add(100);
  wheel.remove(settled);
  await until(0, () => expired.some((e) => e.tick === sentinel));
  const seen = expired.map((e) => e.tick);
  assert.not.ok(seen.includes(emptied), 'the emptied tick did not expire');
  assert.ok(seen.includes(kept), 'the tick that kept a deadline expired');
  assert.equal(seen, [...seen].sort((a, b) => a - b));
});

test('removing one deadline twice does not cancel another deadline of the same tick', async () => {
  const { wheel, expired, until } = recordingWheel(1000);
  const first = wheel.add(50);
  wheel.remove(first);
  wheel.remove(first); // a caller bug, but it must not make the next deadline of this tick vanish
  const second = wheel.add(50);
  assert.is(second, first, 'same tick');
  await until(1);
  assert.equal(expired.map((e) => e.tick), [second]);
});

test('a deadline longer than Node\'s longest timer (~24.8 days) does not expire at once', async () => {
  const { wheel, expired, until } = recordingWheel(10);
  const long = wheel.add(2 ** 31 + 60_000); // ~24.9 days
  const soon = wheel.add(50);
  await until(1);
  assert.equal(expired.map((e) => e.tick), [soon], 'only the short deadline expired');
  wheel.remove(long); // lets this process exit
});

/** Runs a few lines against a DeadlineWheel in a fresh process; resolves with its stdout once it exits. */
function inChild(body: string): Promise<{ code: number | null; out: string }> {
  const code = `import { DeadlineWheel } from './src/core/deadline-wheel.ts';\n${body}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: repoRoot });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  return new Promise((resolve) => child.on('close', (exitCode) => resolve({ code: exitCode, out })));
}

test('a tick with no deadline left does not keep the process alive; a new deadline in it does again', async () => {
  // Exits on its own although a 10-minute tick timer exists (it is unreferenced).
  const idle = await inChild(`const w = new DeadlineWheel(() => console.log('expired')); w.remove(w.add(600000)); console.log('idle');`);
  assert.equal([idle.code, idle.out.trim()], [0, 'idle']);
  // The same tick gets a deadline again: the process waits for it to expire.
  const again = await inChild(`const w = new DeadlineWheel(() => console.log('expired'), 1000); const t = w.add(100); w.remove(t); const u = w.add(100); console.log(t === u ? 'same tick' : 'next tick');`);
  assert.is(again.code, 0);
  assert.match(again.out, /tick\nexpired/);
});

test.run();
