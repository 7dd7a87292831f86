/**
 * The mutating mongo subcommands' safe paths: keyfile creation (length, mode 0400, never
 * printed, refuses to overwrite), `--check`, and `--dry-run` of up, down and migrate printing
 * every command in the documented order without running anything.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { fixtures, FIXTURE_ENV, runCli, tempDir } from './helpers.js';
import { checkKeyfile } from '../../ops/mongo/keyfile.js';

const oneHost = join(fixtures, 'one-host.json');

test('keyfile: 1008 base64 characters, mode 0400, content never printed, no silent overwrite', async () => {
  const path = join(tempDir('keyfile'), 'sub', 'keyfile');
  const result = await runCli(['ops', 'mongo', 'keyfile', '--config', oneHost, '--out', path]);
  assert.is(result.code, 0, result.stderr);
  const key = readFileSync(path, 'utf8').trim();
  assert.is(key.length, 1008);
  assert.match(key, /^[A-Za-z0-9+/]+=*$/);
  assert.is(statSync(path).mode & 0o777, 0o400);
  assert.not.ok(result.stdout.includes(key.slice(0, 40)) || result.stderr.includes(key.slice(0, 40)), 'never printed');
  assert.match(result.stdout, /fingerprint sha256:[0-9a-f]{16}/);
  const again = await runCli(['ops', 'mongo', 'keyfile', '--config', oneHost, '--out', path]);
  assert.is(again.code, 1);
  assert.match(again.stderr, /already exists; pass --force/);
  const forced = await runCli(['ops', 'mongo', 'keyfile', '--config', oneHost, '--out', path, '--force']);
  assert.is(forced.code, 0, forced.stderr);
  assert.is.not(readFileSync(path, 'utf8').trim(), key, 'a new key');
  const check = await runCli(['ops', 'mongo', 'keyfile', '--config', oneHost, '--out', path, '--check']);
  assert.is(check.code, 0, check.stderr);
  assert.match(check.stdout, /: ok, fingerprint sha256:[0-9a-f]{16}/);
  assert.not.ok(check.stdout.includes(readFileSync(path, 'utf8').trim().slice(0, 40)));
});

test('keyfile --check: too open, too short, not base64, missing', () => {
  const dir = tempDir('keycheck');
  const open = join(dir, 'open');
  writeFileSync(open, 'abcdefgh');
  chmodSync(open, 0o644);
  assert.match(checkKeyfile(open).join('\n'), /mode 0644; mongod refuses/);
  const short = join(dir, 'short');
  writeFileSync(short, 'abc', { mode: 0o400 });
  assert.match(checkKeyfile(short).join('\n'), /holds 3 characters; MongoDB needs 6 to 1024/);
  const bad = join(dir, 'bad');
  writeFileSync(bad, 'not base64 !!!', { mode: 0o400 });
  assert.match(checkKeyfile(bad).join('\n'), /outside the base64 set/);
  assert.match(checkKeyfile(join(dir, 'none')).join('\n'), /does not exist: create it with/);
});

test('keyfile --dry-run writes nothing', async () => {
  const path = join(tempDir('keyfile-dry'), 'keyfile');
  const result = await runCli(['ops', 'mongo', 'keyfile', '--config', oneHost, '--out', path, '--dry-run']);
  assert.is(result.code, 0);
  assert.match(result.stdout, /would write a new keyfile/);
  assert.throws(() => statSync(path));
});

test('up --dry-run prints mkdir and the full argv of each local process, in start order', async () => {
  const result = await runCli(['ops', 'mongo', 'up', '--config', oneHost, '--dry-run'], { ...FIXTURE_ENV, MONGOD_BIN: '/opt/mongo/bin/mongod', MONGOS_BIN: '/opt/mongo/bin/mongos' });
  assert.is(result.code, 0, result.stderr);
  const commands = result.stdout.trim().split('\n').filter((l) => !l.startsWith('mkdir'));
  assert.equal(commands.map((l) => l.split(' ').slice(0, 2).join(' ')), [
    '/opt/mongo/bin/mongod --configsvr', '/opt/mongo/bin/mongod --shardsvr', '/opt/mongo/bin/mongod --shardsvr', '/opt/mongo/bin/mongos --configdb',
  ]);
  assert.match(result.stdout, /mkdir -p -m 700 \/data\/mongo\/cfgRS-40001 \/data\/mongo\/log \/data\/mongo\/run/);
});

test('up on a host with no MongoDB process says so', async () => {
  const result = await runCli(['ops', 'mongo', 'up', '--config', join(fixtures, 'three-host.json'), '--host', '10.0.0.9', '--dry-run']);
  assert.is(result.code, 1);
  assert.match(result.stderr, /no MongoDB process of the config runs on this host \(10\.0\.0\.9\)/);
});

test('down --dry-run: balancer, mongos, shards, config servers — for this host only', async () => {
  const result = await runCli(['ops', 'mongo', 'down', '--config', join(fixtures, 'three-host.json'), '--host', '10.0.0.2', '--dry-run']);
  assert.is(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('==')), [
    '== stop the balancer', '== stop the routers (mongos)', '== stop shard sh1, secondaries first', '== stop shard sh2, secondaries first',
    '== stop shard sh3, secondaries first', '== stop config servers cfgRS, secondaries first',
  ]);
  assert.match(result.stdout, /mongos-27018: 127\.0\.0\.1:27018 as root, db admin: \{"shutdown":1\}/);
  assert.match(result.stdout, /sh2-30002: mongod --dbpath \/data\/mongo\/sh2-30002 --shutdown/);
  assert.is(lines.filter((l) => l.includes('--shutdown')).length, 4, 'only the four mongods of 10.0.0.2');
  const phase = await runCli(['ops', 'mongo', 'down', '--config', join(fixtures, 'three-host.json'), '--host', '10.0.0.2', '--phase', 'config', '--dry-run']);
  assert.equal(phase.stdout.trim().split('\n').filter((l) => l.startsWith('==')), ['== stop config servers cfgRS, secondaries first']);
  const bad = await runCli(['ops', 'mongo', 'down', '--config', oneHost, '--phase', 'nope', '--dry-run']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /--phase must be one of balancer, routers, shards, config, all/);
});

test('migrate --dry-run: mongodump then mongorestore with --nsInclude and --uri, passwords redacted', async () => {
  const result = await runCli(['ops', 'mongo', 'migrate', '--config', oneHost, '--from', 'mongodb://old:oldpw@10.9.0.1:27017/?authSource=admin', '--dump-dir', '/tmp/d', '--dry-run']);
  assert.is(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim().split('\n'), [
    "mongodump --uri 'mongodb://old:<redacted>@10.9.0.1:27017/?authSource=admin' --nsInclude 'app.*' --out /tmp/d",
    "mongorestore --uri 'mongodb://root:<redacted>@127.0.0.1:27018/?authSource=admin' --nsInclude 'app.*' /tmp/d",
  ]);
  const missing = await runCli(['ops', 'mongo', 'migrate', '--config', oneHost, '--dry-run']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /--from URI is required/);
});

test('every subcommand answers --help', async () => {
  for (const sub of ['plan', 'up', 'init', 'status', 'down', 'migrate', 'keyfile']) {
    const result = await runCli(['ops', 'mongo', sub, '--help']);
    assert.is(result.code, 0, sub);
    assert.match(result.stdout, new RegExp(`^Usage: boxwire ops mongo ${sub} `));
  }
  for (const args of [['ops', '--help'], ['ops', 'mongo', '--help'], ['ops', 'lb', '--help'], ['ops', 'lb', 'nginx', '--help']]) {
    const result = await runCli(args);
    assert.is(result.code, 0, args.join(' '));
    assert.match(result.stdout, /^Usage: boxwire ops/);
  }
});

test.run();
