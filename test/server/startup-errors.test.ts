// A configuration error while a server starts stops the whole process with ONE plain line on
// stderr and exit code 1 — no stack trace, no JSON, no restart loop, no EPIPE from a worker:
// the nested SERVER_CLUSTERING example of docs/server-clustering.md without a key, a bad port, the mesh port taken
// (through the API and through `boxwire start`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../helpers/process-harness.js';
import { freePort } from '../helpers/server-driver.js';
import { writeConfig } from '../helpers/roles-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';

interface Result { code: number | null; stdout: string; stderr: string }

function run(args: string[], env: Record<string, string>): Promise<Result> {
  // A process that wrongly keeps running (the crash loop) is stopped so the test fails, not hangs.
  return runToExit(process.execPath, args, { env: { ...process.env, BOXWIRE_LOG: 'warn', BOXWIRE_CLUSTER_KEY: '', ...env }, killAfterMs: 40_000 });
}

const nested = (options: object, workers: number, nest = 'cpu-outer') =>
  run(['--import', 'tsx', join(repoRoot, 'test/fixtures/nested-server-app.ts')], { FIXTURE_OPTIONS: JSON.stringify(options), BOXWIRE_WORKERS: String(workers), FIXTURE_NEST: nest });

function assertOneLine(result: Result, expected: RegExp): void {
  assert.is(result.code, 1, `exit code (stderr: ${result.stderr})`);
  const lines = result.stderr.trimEnd().split('\n');
  assert.is(lines.length, 1, `exactly one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0], expected);
  assert.not.match(result.stderr, /\n\s+at |EPIPE|worker\.crashed|start_failed/);
}

test('the README nested example without a key on non-loopback hosts: one ConfigError line, exit 1, no restarts', async () => {
  const options = { hosts: { serverA: '10.0.0.1', serverB: '10.0.0.2' }, thisServerName: 'serverA', port: 8125 };
  const [forked, solo] = await Promise.all([nested(options, 2), nested(options, 0)]);
  for (const result of [forked, solo]) {
    assertOneLine(result, /^ConfigError: SERVER_CLUSTERING: refusing to listen on a non-loopback address without a cluster key/);
    assert.not.match(result.stdout, /work ran/, 'work() never ran');
  }
});

test('a bad option in nested SERVER_CLUSTERING (port out of range): one line, exit 1', async () => {
  const result = await nested({ hosts: { a: '127.0.0.2', b: '127.0.0.3' }, thisServerName: 'a', port: 70000, clusterKey: 'k'.repeat(32) }, 2);
  assertOneLine(result, /^ConfigError: .*port must be an integer from 1 to 65535/);
});

test('mesh port already in use: one line, exit 1, every worker stopped (forked, solo, and SERVER_CLUSTERING outside)', async () => {
  const port = await freePort(['127.0.0.2', '127.0.0.3']);
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.2', resolve));
  try {
    const options = { hosts: { a: '127.0.0.2', b: '127.0.0.3' }, thisServerName: 'a', port, clusterKey: 'k'.repeat(32) };
    // Twice forked: the EPIPE a dying master used to cause came only sometimes.
    const results = await Promise.all([nested(options, 2), nested(options, 2), nested(options, 0), nested(options, 2, 'server-outer')]);
    for (const result of results) {
      assertOneLine(result, new RegExp(`^ConfigError: SERVER_CLUSTERING: cannot listen on 127\\.0\\.0\\.2:${port} \\(EADDRINUSE\\)`));
      assert.not.match(result.stdout, /work ran/, 'the port opens before work() (start-up order), so user code never ran');
    }
  } finally {
    blocker.close();
  }
});

test('boxwire start with the mesh port taken: one line naming the key, exit 1, before any worker is forked', async () => {
  const port = await freePort(['127.0.0.2', '127.0.0.3']);
  const config = { clusteringPort: port, clusterKey: 'k'.repeat(32), defaultBox: 'sample', boxes: ['sample'], servers: { one: { host: '127.0.0.2', webPort: port + 1 }, two: { host: '127.0.0.3', webPort: port + 1, roles: ['api'] } } };
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.2', resolve));
  try {
    const result = await run([join(repoRoot, 'bin/boxwire.js'), 'start', '--config', writeConfig(config).path, '--server', 'one'], { BOXWIRE_WORKERS: '2' });
    assertOneLine(result, new RegExp(`^boxwire start: servers\\.one \\(clusteringPort\\): 127\\.0\\.0\\.2:${port} is already in use`));
  } finally {
    blocker.close();
  }
});

test.run();
