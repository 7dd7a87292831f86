// The chaos run must catch a broken build: with anti-entropy's repair switched off
// (BOXWIRE_TEST_BREAK_ANTI_ENTROPY=1, read only in src/store/replication/anti-entropy.ts, set only
// here), replicas that missed operations during a partition or a pause are never repaired. The run
// — `npm run chaos` itself, as a user runs it — must exit 1 with a readable report: the properties
// that failed, the seed to rerun, and a minimal event history. Needs root; SKIP otherwise.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const SEED = 4; // a one-vs-rest partition, a server kill -9 and a pause within the first 30 s

if (process.getuid?.() !== 0) {
  console.log('SKIP broken-build chaos run: needs root (network namespaces, iptables)');
} else {
  test('a build without anti-entropy repair fails the chaos run with the seed and a minimal history', async () => {
    const run = spawn(process.execPath, ['--import', 'tsx', 'test/chaos/run.ts', '--servers', '3', '--seed', String(SEED), '--seconds', '30', '--settle-seconds', '15'], {
      cwd: join(import.meta.dirname, '..', '..'), env: { ...process.env, BOXWIRE_TEST_BREAK_ANTI_ENTROPY: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    run.stdout!.on('data', (chunk) => (output += chunk));
    run.stderr!.on('data', (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => run.on('exit', resolve));
    const report = output.slice(output.indexOf('\nchaos run:'));
    console.log(report.split('\n').slice(0, 30).join('\n'));
    assert.is(code, 1, `the run must fail:\n${output.slice(-3000)}`);
    assert.match(report, /FAILED every replica equal: \w+\/\w+: s1=/);
    assert.match(report, /FAILED counters = sum of acknowledged increments[^\n]*lost \d+/);
    assert.match(report, new RegExp(`FAILED with seed ${SEED} \\(rerun with --seed ${SEED}\\); minimal event history`));
    const history = report.slice(report.indexOf('minimal event history')).split('\n').slice(1).filter((line) => /^\s+\d+\.\d s {2}/.test(line));
    assert.ok(history.some((line) => /partition|SIGSTOP|kill -9/.test(line)), 'the faults are in the history');
    assert.ok(history.some((line) => /: (\$inc|\$addToSet|create) .* acknowledged/.test(line)), 'the acknowledged operations on a broken id are in the history');
    assert.ok(history.length < 200, `the history stays short (${history.length} lines)`);
    // Properties unrelated to the store still hold, so the report points at the broken part.
    assert.match(report, /HELD {3}broadcasts and messages per sender arrive in order/);
  });
}

test.run();
