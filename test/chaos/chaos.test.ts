// The CI chaos run: 3 real servers in network namespaces, 2 minutes of workload with seed 4 (worker
// kill -9s, partitions, server kill -9 + restart, pauses past the failure detector, rolling
// restarts), then the checker: every property must hold. Needs root for `ip netns` and iptables;
// prints a visible SKIP otherwise. test/chaos/broken-build.test.ts proves it can fail.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { runChaos, schedule } from './chaos.js';

function netnsAvailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    execFileSync('iptables', ['-L', '-n'], { stdio: 'ignore' });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

test('the seed alone fixes the fault schedule (--seed reproduces it)', () => {
  assert.equal(schedule(4, 3, 30), schedule(4, 3, 30));
  assert.not.equal(schedule(4, 3, 30), schedule(5, 3, 30));
  const kinds = new Set(schedule(4, 3, 30).map((f) => f.kind));
  for (const kind of ['partition', 'kill', 'pause', 'kill-worker']) assert.ok(kinds.has(kind as never), `seed 4 lacks ${kind}`);
});

const missing = netnsAvailable();
if (missing) {
  console.log(`SKIP chaos run: network namespaces unavailable (${missing})`);
} else {
  test('chaos run, 3 servers, seed 4, 2 minutes: every property holds', async () => {
    const lines: string[] = [];
    const result = await runChaos({ servers: 3, seed: 4, seconds: 120, log: (line) => lines.push(line) });
    const report = result.properties.map((p) => `${p.held ? 'HELD  ' : 'FAILED'} ${p.name}: ${p.detail}`).join('\n');
    console.log(`faults: ${JSON.stringify(result.faults)}\noperations: ${JSON.stringify(result.operations)}\n${report}`);
    assert.ok(Object.keys(result.faults).length >= 3, `too few faults were injected: ${JSON.stringify(result.faults)}\n${lines.join('\n')}`);
    assert.ok(result.ok, `${report}\nseed ${result.seed}; minimal history:\n${result.minimalHistory.join('\n')}`);
  });
}

test.run();
