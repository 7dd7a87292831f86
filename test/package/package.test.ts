// The package as users get it: `npm run build` output, the `boxwire` and `boxwire/global`
// exports, the bin's --help.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/process-harness.js';

test('boxwire --help prints the commands and exits 0', () => {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/boxwire.js'), '--help'], { encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, /Usage: boxwire <command>/);
  for (const command of ['start', 'status', 'ops']) assert.match(result.stdout, new RegExp(`\\n  ${command} `));
});

test('boxwire with an unknown command says so and exits 1', () => {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/boxwire.js'), 'frobnicate'], { encoding: 'utf8' });
  assert.is(result.status, 1);
  assert.match(result.stderr, /unknown command 'frobnicate'/);
});

test('npm run build emits JavaScript and .d.ts; `boxwire` and `boxwire/global` load from dist', () => {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'pipe' });
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  for (const entry of [pkg.exports['.'].import, pkg.exports['.'].types, pkg.exports['./global'].import, pkg.exports['./global'].types]) {
    assert.ok(existsSync(join(repoRoot, entry)), `${entry} was built`);
  }
  // Self-reference by package name resolves through "exports", as in an installed package.
  const script = `
    const boxwire = await import('boxwire');
    await import('boxwire/global');
    console.log(JSON.stringify({
      api: typeof boxwire.CPU_CLUSTERING, master: boxwire.MASTER,
      global: typeof globalThis.CPU_CLUSTERING, same: globalThis.CPU_CLUSTERING === boxwire.CPU_CLUSTERING,
      errors: typeof boxwire.TimeoutError,
    }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(JSON.parse(out), { api: 'function', master: 0, global: 'function', same: true, errors: 'function' });
});

test('the packed package holds every file the README links to (the manual in docs/ ships with it)', () => {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8' }));
  const files = new Set((packed.files as Array<{ path: string }>).map((file) => file.path));
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const linked = [...readme.matchAll(/\]\(((?:docs|ops|boxes|templates)\/[^)#\s]+)/g)].map((m) => m[1]);
  assert.ok(linked.length > 5, `the README links to the manual (${linked.length} links)`);
  for (const path of linked) assert.ok(files.has(path) || [...files].some((file) => file.startsWith(`${path}/`)), `${path} is in the package`);
});

test('the worker-count rule: cpus − 1, 2 on two cores, 0 on one; option and env override', async () => {
  const { resolveWorkerCount } = await import('../../src/cpu/worker-count.js');
  assert.is(resolveWorkerCount(undefined, {}, 8), 7);
  assert.is(resolveWorkerCount(undefined, {}, 2), 2);
  assert.is(resolveWorkerCount(undefined, {}, 1), 0);
  assert.is(resolveWorkerCount(3, { BOXWIRE_WORKERS: '5' }, 8), 3);
  assert.is(resolveWorkerCount(undefined, { BOXWIRE_WORKERS: '5' }, 8), 5);
  assert.throws(() => resolveWorkerCount(-1, {}, 8), /workers must be an integer/);
  assert.throws(() => resolveWorkerCount(undefined, { BOXWIRE_WORKERS: 'many' }, 8), /BOXWIRE_WORKERS=many/);
});

test.run();
