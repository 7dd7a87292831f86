/** Shared bits of the ops tests: running the real `boxwire` CLI, snapshots, temp files. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { ConfigValidationError, parseClusterConfig } from '../../src/config/index.js';

export const root = join(import.meta.dirname, '..', '..');
export const fixtures = join(import.meta.dirname, 'fixtures');

/** Secrets the fixture configs reference as env:NAME. */
export const FIXTURE_ENV = {
  MONGO_ROOT_USER: 'root', MONGO_ROOT_PWD: 'root-secret-4f1a', MONGO_APP_USER: 'app', MONGO_APP_PWD: 'app-secret-9c2e',
  BOXWIRE_CLUSTER_KEY: 'cluster-key-for-tests-0123456789',
};

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Runs `boxwire …` as a user would (bin/boxwire.js → tsx → src/boot/cli.ts). */
export function runCli(args: string[], env: Record<string, string> = FIXTURE_ENV): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'boxwire.js'), ...args], { cwd: root, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Compares text with a committed, reviewed snapshot under test/ops/snapshots/. Run with
 * UPDATE_SNAPSHOTS=1 to (re)write them, then review the diff before committing.
 */
export function matchSnapshot(name: string, actual: string): void {
  const dir = join(import.meta.dirname, 'snapshots');
  const path = join(dir, name);
  if (process.env.UPDATE_SNAPSHOTS === '1') {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `snapshot ${name} is missing; run with UPDATE_SNAPSHOTS=1 and review it`);
  assert.fixture(actual, readFileSync(path, 'utf8'), `snapshot ${name} differs`);
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `boxwire-${prefix}-`));
}

/** Writes a config object to a temp file and returns its path. */
export function writeConfig(config: unknown, dir = tempDir('config')): string {
  const path = join(dir, 'cluster.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** `count` distinct ports free on `host` right now (held together while choosing, so distinct). */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const { createServer } = await import('node:net');
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  })));
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** The problem lines a config raises ([] when it is valid); anything but a validation error fails the test. */
export function configProblems(config: unknown, env: Record<string, string>): string[] {
  try {
    parseClusterConfig(config, { env });
  } catch (error) {
    assert.instance(error, ConfigValidationError);
    return (error as ConfigValidationError).problems;
  }
  return [];
}
