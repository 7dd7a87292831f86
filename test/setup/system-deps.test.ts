// `npm test` on a machine without the system packages the tests need: the shared script
// (scripts/test-system-deps.sh, also used by .ci/run) installs the missing ones as root with
// apt-get — and only those, and only when something is missing — or the runner stops with ONE
// line saying what to install (a run of chosen files goes on after that line). A PATH without
// the programs stands in for the fresh machine; apt-get is a stand-in that records its calls
// and "installs" by putting the programs on that PATH.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/process-harness.js';

const script = join(repoRoot, 'scripts', 'test-system-deps.sh');
const isRoot = process.getuid?.() === 0;
const dirs: string[] = [];
test.after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A bin folder with only the basics: none of redis-server, nginx, haproxy, openssl, ip. */
function bareBin(): string {
  const bin = mkdtempSync(join(tmpdir(), 'boxwire-bare-bin-'));
  dirs.push(bin);
  for (const tool of ['bash', 'mktemp', 'rm', 'chmod', 'cat']) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(found, join(bin, tool));
  }
  return bin;
}

/** An apt-get stand-in: records each call; `install` puts a program for each package in `bin`. */
function fakeAptGet(bin: string, { fail = false } = {}): string {
  const calls = join(bin, 'apt-get.calls');
  const programs: Record<string, string> = { 'redis-server': 'redis-server', nginx: 'nginx', haproxy: 'haproxy', openssl: 'openssl', iproute2: 'ip', chromium: 'chromium' };
  writeFileSync(join(bin, 'apt-get'), `#!${join(bin, 'bash')}
echo "$*" >> ${JSON.stringify(calls)}
${fail ? 'exit 100' : ''}
for arg in "$@"; do
  case "$arg" in
${Object.entries(programs).map(([pkg, program]) => `    ${pkg}) printf '#!/bin/sh\\n' > ${JSON.stringify(join(bin, program))}; chmod +x ${JSON.stringify(join(bin, program))} ;;`).join('\n')}
  esac
done
`);
  chmodSync(join(bin, 'apt-get'), 0o755);
  return calls;
}

// The machine running this test has the programs in /usr/sbin: a fresh machine has none there.
const NO_SBIN = { BOXWIRE_SBIN_DIRS: '' };
const runScript = (path: string, env: Record<string, string> = NO_SBIN) => spawnSync(join(path.split(':')[0], 'bash'), [script], { env: { PATH: path, ...env }, encoding: 'utf8' });

test('everything present: silent, exit 0, no apt-get', () => {
  const result = spawnSync('bash', [script], { encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
  assert.is(result.stdout + result.stderr, '');
});

test('missing and nothing to install with: one line naming the packages, exit 1', () => {
  const bin = bareBin();
  const result = runScript(bin);
  assert.is(result.status, 1);
  assert.is(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  assert.is(lines.length, 1, result.stderr);
  assert.match(lines[0], /^the tests need system packages that are missing: redis-server nginx haproxy openssl iproute2 — install them with your package manager$/);
});

test('installed but not on PATH (an sbin folder): one line saying so, no apt-get', () => {
  const bin = bareBin();
  const calls = fakeAptGet(bin);
  const sbin = mkdtempSync(join(tmpdir(), 'boxwire-sbin-'));
  dirs.push(sbin);
  for (const program of ['nginx', 'haproxy']) {
    writeFileSync(join(sbin, program), '#!/bin/sh\n');
    chmodSync(join(sbin, program), 0o755);
  }
  const result = runScript(bin, { BOXWIRE_SBIN_DIRS: sbin });
  assert.is(result.status, 1);
  assert.is(result.stderr, `the tests need programs that are installed but not on your PATH: ${sbin}/nginx ${sbin}/haproxy — export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" and run again\n`);
  assert.not.ok(existsSync(calls), 'apt-get was not run');
});

test('npm test on that machine: one line, exit 1, no test runs; a run of chosen files goes on', () => {
  const bin = bareBin();
  const all = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'run.ts')], { cwd: repoRoot, env: { ...process.env, PATH: bin, ...NO_SBIN }, encoding: 'utf8' });
  assert.is(all.status, 1);
  assert.is(all.stdout, '', 'no test ran');
  assert.equal(all.stderr.trimEnd().split('\n'), ['npm test: the tests need system packages that are missing: redis-server nginx haproxy openssl iproute2 — install them with your package manager']);

  const some = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'run.ts'), 'core/envelope'], { cwd: repoRoot, env: { ...process.env, PATH: bin, ...NO_SBIN }, encoding: 'utf8' });
  assert.is(some.status, 0, some.stdout + some.stderr);
  assert.match(some.stderr, /^npm test: the tests need .*; running the chosen files anyway\n$/);
  assert.match(some.stdout, /ok {3}test\/core\/envelope\.test\.ts/);
});

test('as root with apt-get: installs only what is missing, once; then silent', () => {
  if (!isRoot) {
    const bin = bareBin();
    fakeAptGet(bin);
    const result = runScript(bin);
    assert.is(result.status, 1);
    assert.match(result.stderr, /run: sudo apt-get install -y redis-server nginx haproxy openssl iproute2 \(or run the tests as root, which installs them\)\n$/);
    return;
  }
  const bin = bareBin();
  const calls = fakeAptGet(bin);
  const first = runScript(bin);
  assert.is(first.status, 0, first.stderr);
  assert.is(first.stdout, 'installing the system packages the tests need: redis-server nginx haproxy openssl iproute2 (apt-get)\n');
  assert.is(first.stderr, '');
  const recorded = readFileSync(calls, 'utf8').trim().split('\n');
  assert.is(recorded.length, 2, recorded.join('\n'));
  assert.match(recorded[0], /update/);
  assert.match(recorded[1], /install -y -qq redis-server nginx haproxy openssl iproute2$/);
  assert.ok(existsSync(join(bin, 'ip')));

  const second = runScript(bin);
  assert.is(second.status, 0);
  assert.is(second.stdout + second.stderr, '', 'nothing missing: silent');
  assert.is(readFileSync(calls, 'utf8').trim().split('\n').length, 2, 'apt-get not run again');
});

test('as root, apt-get failing: one line, exit 1', () => {
  if (!isRoot) return;
  const bin = bareBin();
  fakeAptGet(bin, { fail: true });
  const result = runScript(bin);
  assert.is(result.status, 1);
  assert.match(result.stderr, /^the tests need redis-server nginx haproxy openssl iproute2: apt-get install failed \(log: \S+\); install them and run again\n$/);
});

test.run();
