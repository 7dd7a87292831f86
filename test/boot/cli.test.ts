// `boxwire start` / `boxwire status` as an operator meets them: help, missing arguments, and every
// kind of bad config refused with one line naming the key and exit code 1 (before any worker is
// forked). The schema's full list of cases is in test/config/config.test.ts; here each class of
// problem goes through the real command.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../helpers/process-harness.js';
import { writeConfig } from '../helpers/roles-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';

interface Result { code: number | null; stdout: string; stderr: string }

function boxwire(args: string[], env: Record<string, string> = {}): Promise<Result> {
  // A start that wrongly succeeds keeps running: stop it so the test fails instead of hanging.
  return runToExit(process.execPath, [join(repoRoot, 'bin/boxwire.js'), ...args], { env: { ...process.env, BOXWIRE_WORKERS: '1', ...env }, killAfterMs: 30_000 });
}

const valid = () => ({
  clusteringPort: 18571,
  defaultBox: 'sample',
  boxes: ['sample'],
  servers: { one: { host: '127.0.0.2', webPort: 18570 }, two: { host: '127.0.0.3', webPort: 18570, roles: ['api'] } },
});

test('boxwire --help, start --help and status --help print usage and exit 0', async () => {
  const top = await boxwire(['--help']);
  assert.is(top.code, 0);
  assert.match(top.stdout, /start\s+start one server of a cluster/);
  assert.match(top.stdout, /status\s+show the live topology/);
  const start = await boxwire(['start', '--help']);
  assert.is(start.code, 0);
  assert.match(start.stdout, /Usage: boxwire start --config FILE --server NAME/);
  assert.match(start.stdout, /BOXWIRE_SERVER/);
  const status = await boxwire(['status', '-h']);
  assert.is(status.code, 0);
  assert.match(status.stdout, /Usage: boxwire status --config FILE/);
});

test('missing or unknown arguments: one clear message, exit 1', async () => {
  const { path } = writeConfig(valid());
  const cases: Array<[string[], RegExp]> = [
    [['start'], /--config FILE is required/],
    [['start', '--config', path], /say which server this is: --server NAME or env BOXWIRE_SERVER/],
    [['start', '--config', path, '--server', 'three'], /there is no server 'three' in the config \(servers: one, two\)/],
    [['start', '--config', path, '--server', 'one', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['status'], /--config FILE is required/],
  ];
  const results = await Promise.all(cases.map(([args]) => boxwire(args)));
  results.forEach((result, i) => {
    assert.is(result.code, 1, cases[i][0].join(' '));
    assert.match(result.stderr, cases[i][1]);
  });
});

// [what, edit, the line naming the key]
const configCases: Array<[string, (c: any) => void, RegExp]> = [
  ['clusteringPort missing', (c) => delete c.clusteringPort, /^ {2}clusteringPort: missing/m],
  ['clusteringPort out of range', (c) => (c.clusteringPort = 70000), /^ {2}clusteringPort: must be a TCP port, 1–65535, got 70000$/m],
  ['unknown key', (c) => (c.sever = 1), /^ {2}sever: unknown key/m],
  ['no servers', (c) => (c.servers = {}), /^ {2}servers: must name at least one server/m],
  ['host with a port', (c) => (c.servers.one.host = '127.0.0.2:80'), /^ {2}servers\.one\.host: must be a bare host name/m],
  ['webPort missing', (c) => delete c.servers.two.webPort, /^ {2}servers\.two\.webPort: missing/m],
  ['unknown role', (c) => (c.servers.two.roles = ['api', 'database']), /^ {2}servers\.two\.roles\[1\]: unknown role "database"/m],
  ['empty roles', (c) => (c.servers.two.roles = []), /^ {2}servers\.two\.roles: must be a non-empty array/m],
  ['two servers on one address', (c) => { c.servers.two.host = '127.0.0.2'; c.servers.two.webPort = 18572; }, /^ {2}servers\.two \(clusteringPort\): 127\.0\.0\.2:18571 is already used by servers\.one \(clusteringPort\)/m],
  ['webPort equals clusteringPort', (c) => (c.servers.two.webPort = 18571), /^ {2}servers\.two \(clusteringPort\): 127\.0\.0\.3:18571 is already used by servers\.two\.webPort/m],
  ['defaultBox not among boxes', (c) => (c.defaultBox = 'shop'), /^ {2}defaultBox: 'shop' is not one of boxes \(sample\)/m],
  ['bad box name', (c) => (c.boxes = ['sample', '../x']), /^ {2}boxes\[1\]: must be a box name/m],
  ['maxUploadFileMB not positive', (c) => (c.maxUploadFileMB = 0), /^ {2}maxUploadFileMB: must be a positive number/m],
  ['workers negative', (c) => (c.servers.one.workers = -2), /^ {2}servers\.one\.workers: must be a whole number/m],
  ['env reference not set', (c) => (c.clusterKey = 'env:BOXWIRE_TEST_UNSET_KEY'), /^ {2}clusterKey: environment variable BOXWIRE_TEST_UNSET_KEY is not set/m],
  ['redis url', (c) => (c.redis = { url: 'http://x' }), /^ {2}redis\.url: must be a redis:\/\/ or rediss:\/\/ URL/m],
];

test('every class of config error: one line naming the key, exit 1, nothing started', async () => {
  // Four at a time: each is a whole CLI process (tsx loader included); seventeen at once on a
  // small, busy machine ran into the per-process kill timer.
  const results: Result[] = [];
  let next = 0;
  const lane = async () => {
    while (next < configCases.length) {
      const index = next++;
      const config = valid();
      configCases[index][1](config);
      results[index] = await boxwire(['start', '--config', writeConfig(config).path, '--server', 'one']);
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
  results.forEach((result, i) => {
    const [name, , line] = configCases[i];
    assert.is(result.code, 1, `${name}: exit code (stderr: ${result.stderr})`);
    assert.match(result.stderr, line, name);
    const problems = result.stderr.split('\n').filter((l) => l.startsWith('  '));
    assert.is(problems.length, 1, `${name}: exactly one problem line, got ${JSON.stringify(problems)}`);
    assert.not.match(result.stdout + result.stderr, /server\.listening|worker\.ready|worker\.crashed/, `${name}: nothing started`);
  });
});

test('unreadable file and invalid JSON', async () => {
  const missing = await boxwire(['start', '--config', '/nonexistent/cluster.json', '--server', 'one']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /cannot read \/nonexistent\/cluster\.json/);
  const { path, dir } = writeConfig(valid());
  const { writeFileSync } = await import('node:fs');
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{ "clusteringPort": 1, }');
  const bad = await boxwire(['start', '--config', broken, '--server', 'one']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /broken\.json is not valid JSON/);
  assert.ok(path);
});

test('checked before forking: a missing box, a non-loopback mesh without a key, a taken web port', async () => {
  const noBox = valid();
  noBox.boxes = ['sample', 'shop'];
  const box = await boxwire(['start', '--config', writeConfig(noBox).path, '--server', 'one']);
  assert.is(box.code, 1);
  assert.match(box.stderr, /boxes: box 'shop' not found: no .*boxes\/shop\/index\.js/);

  const exposed = valid();
  exposed.servers.two.host = '10.1.2.3';
  const key = await boxwire(['start', '--config', writeConfig(exposed).path, '--server', 'one'], { BOXWIRE_CLUSTER_KEY: '' });
  assert.is(key.code, 1);
  assert.match(key.stderr, /key/i);

  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(18570, '127.0.0.2', resolve));
  try {
    const taken = await boxwire(['start', '--config', writeConfig(valid()).path, '--server', 'one']);
    assert.is(taken.code, 1);
    assert.match(taken.stderr, /servers\.one\.webPort: 127\.0\.0\.2:18570 is already in use/);
  } finally {
    blocker.close();
  }
});

test('status: no server of the cluster answering is an error naming each one', async () => {
  const result = await boxwire(['status', '--config', writeConfig(valid()).path, '--timeout', '1000']);
  assert.is(result.code, 1);
  assert.match(result.stderr, /no server of the cluster answered/);
  assert.match(result.stderr, /one \(http:\/\/127\.0\.0\.2:18570\/__STATUS\)/);
  assert.match(result.stderr, /two \(http:\/\/127\.0\.0\.3:18570\/__STATUS\)/);
});

test.run();
