/**
 * `boxwire ops mongo plan --json` for a one-host dev config and a three-host config (3 config
 * members, 3 shards × 3 members): each property of the plan asserted, then the whole document
 * against a reviewed snapshot.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { fixtures, FIXTURE_ENV, matchSnapshot, runCli } from './helpers.js';
import type { MongoPlan, PlannedProcess } from '../../ops/mongo/plan.js';

async function plan(file: string): Promise<{ plan: MongoPlan; stdout: string }> {
  const result = await runCli(['ops', 'mongo', 'plan', '--config', join(fixtures, file), '--json']);
  assert.is(result.code, 0, result.stderr);
  return { plan: JSON.parse(result.stdout) as MongoPlan, stdout: result.stdout };
}

function flag(p: PlannedProcess, name: string): string | undefined {
  const i = p.argv.indexOf(name);
  return i < 0 ? undefined : p.argv[i + 1];
}

test('one host: processes, with full argv', async () => {
  const { plan: p } = await plan('one-host.json');
  assert.equal(p.processes.map((x) => `${x.role} ${x.host}:${x.port} ${x.replSet ?? '-'}`), [
    'configsvr 127.0.0.1:40001 cfgRS', 'shardsvr 127.0.0.1:30001 sh1', 'shardsvr 127.0.0.1:30002 sh2', 'mongos 127.0.0.1:27018 -',
  ]);
  for (const mongod of p.processes.filter((x) => x.role !== 'mongos')) {
    assert.is(mongod.argv[0], 'mongod');
    assert.ok(mongod.argv.includes(`--${mongod.role}`), `${mongod.name} has --${mongod.role}`);
    assert.is(flag(mongod, '--replSet'), mongod.replSet, 'every shard and config server is a replica set');
    assert.is(flag(mongod, '--port'), String(mongod.port));
    assert.is(flag(mongod, '--keyFile'), '/srv/mongodb/keyfile');
    assert.is(flag(mongod, '--bind_ip'), 'localhost,127.0.0.1');
    assert.is(flag(mongod, '--dbpath'), `/data/mongo/${mongod.replSet}-${mongod.port}`);
    assert.is(flag(mongod, '--logpath'), `/data/mongo/log/${mongod.replSet}-${mongod.port}.log`);
    assert.ok(mongod.argv.includes('--fork'));
    assert.is(flag(mongod, '--wiredTigerCacheSizeGB'), '1', 'three mongods share the host: each gets a bounded cache');
  }
  const mongos = p.processes[3];
  assert.is(mongos.argv[0], 'mongos');
  assert.is(flag(mongos, '--configdb'), 'cfgRS/127.0.0.1:40001');
  assert.is(flag(mongos, '--keyFile'), '/srv/mongodb/keyfile');
  assert.is(flag(mongos, '--bind_ip'), 'localhost,127.0.0.1');
  assert.ok(mongos.argv.includes('--fork'));
  assert.is(flag(mongos, '--dbpath'), undefined);
  assert.is(flag(mongos, '--wiredTigerCacheSizeGB'), undefined);
});

test('one host: admin commands in order', async () => {
  const { plan: p, stdout } = await plan('one-host.json');
  assert.equal(p.commands.map((c) => c.step), [
    'initiate config replica set cfgRS', 'initiate shard replica set sh1', 'initiate shard replica set sh2',
    'wait for a primary in cfgRS', 'wait for a primary in sh1', 'wait for a primary in sh2',
    'create the root user', 'add shard sh1', 'add shard sh2', 'enable sharding on app', 'shard app.users', 'shard app.events', 'create the app user',
  ]);
  const [cfg, sh1] = p.commands;
  assert.equal(cfg.command, { replSetInitiate: { _id: 'cfgRS', configsvr: true, members: [{ _id: 0, host: '127.0.0.1:40001' }] } });
  assert.is(cfg.target, '127.0.0.1:40001');
  assert.ok(cfg.localhostException);
  assert.equal(sh1.command, { replSetInitiate: { _id: 'sh1', members: [{ _id: 0, host: '127.0.0.1:30001' }] } });
  assert.equal(p.commands[3].command, { replSetGetStatus: 1 });
  const root = p.commands[6];
  assert.is(root.target, '127.0.0.1:27018', 'the first user is created on mongos');
  assert.ok(root.localhostException, 'through the localhost exception');
  assert.is(root.auth, 'none');
  assert.is(root.db, 'admin');
  assert.equal(root.command, { createUser: 'root', pwd: '<redacted>', roles: [{ role: 'root', db: 'admin' }], writeConcern: { w: 'majority' } });
  assert.equal(p.commands[7].command, { addShard: 'sh1/127.0.0.1:30001', name: 'sh1' });
  assert.is(p.commands[7].auth, 'root');
  assert.equal(p.commands[9].command, { enableSharding: 'app' });
  assert.equal(p.commands[10].command, { shardCollection: 'app.users', key: { _id: 'hashed' } });
  assert.equal(p.commands[11].command, { shardCollection: 'app.events', key: { tenant: 1, at: 1 } }, 'the config can name another key');
  const app = p.commands[12];
  assert.is(app.db, 'app');
  assert.equal(app.command, { createUser: 'app', pwd: '<redacted>', roles: [{ role: 'readWrite', db: 'app' }, { role: 'dbAdmin', db: 'app' }], writeConcern: { w: 'majority' } });
  for (const c of p.commands) assert.ok(['target', 'db', 'command'].every((k) => k in c), 'each command is { target, db, command }');
  assert.not.ok(stdout.includes(FIXTURE_ENV.MONGO_ROOT_PWD) || stdout.includes(FIXTURE_ENV.MONGO_APP_PWD), 'passwords never printed');
});

test('one host: stop order is balancer, mongos, shards secondaries-first, config servers', async () => {
  const { plan: p } = await plan('one-host.json');
  assert.equal(p.stopOrder.map((s) => [s.kind, s.role ?? null, s.replSet ?? null]), [
    ['balancerStop', null, null], ['shutdownRouters', 'mongos', null], ['shutdownReplicaSet', 'shardsvr', 'sh1'],
    ['shutdownReplicaSet', 'shardsvr', 'sh2'], ['shutdownReplicaSet', 'configsvr', 'cfgRS'],
  ]);
  assert.equal(p.stopOrder[0].command, { balancerStop: 1 });
  assert.equal(p.stopOrder[1].command, { shutdown: 1 });
  assert.ok(p.stopOrder.slice(2).every((s) => s.secondariesFirst));
});

test('one host: snapshot', async () => {
  matchSnapshot('plan-one-host.json', (await plan('one-host.json')).stdout);
});

test('three hosts: 3 config members, 3 shards x 3 members, 3 routers', async () => {
  const { plan: p } = await plan('three-host.json');
  const byRole = (role: string) => p.processes.filter((x) => x.role === role);
  assert.is(byRole('configsvr').length, 3);
  assert.is(byRole('shardsvr').length, 9);
  assert.is(byRole('mongos').length, 3);
  for (const host of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
    const here = p.processes.filter((x) => x.host === host);
    assert.equal(here.map((x) => x.name).sort(), ['cfgRS-40001', 'mongos-27018', 'sh1-30001', 'sh2-30002', 'sh3-30003']);
    for (const x of here) assert.is(flag(x, '--bind_ip'), `localhost,${host}`);
    for (const x of here.filter((y) => y.role !== 'mongos')) assert.is(flag(x, '--wiredTigerCacheSizeGB'), '2', 'four mongods per host share its RAM');
  }
  for (const x of byRole('shardsvr')) assert.is(flag(x, '--replSet'), x.replSet);
  for (const x of byRole('mongos')) assert.is(flag(x, '--configdb'), 'cfgRS/10.0.0.1:40001,10.0.0.2:40001,10.0.0.3:40001');
});

test('three hosts: commands target members on the init host; addShard names the replica set', async () => {
  const { plan: p } = await plan('three-host.json');
  const initiates = p.commands.filter((c) => c.kind === 'replSetInitiate');
  assert.equal(initiates.map((c) => c.target), ['10.0.0.1:40001', '10.0.0.1:30001', '10.0.0.1:30002', '10.0.0.1:30003'], 'every set is initiated over localhost on the first router host');
  assert.equal((initiates[0].command.replSetInitiate as { members: unknown }).members, [
    { _id: 0, host: '10.0.0.1:40001' }, { _id: 1, host: '10.0.0.2:40001' }, { _id: 2, host: '10.0.0.3:40001' },
  ]);
  assert.is((initiates[0].command.replSetInitiate as { configsvr?: boolean }).configsvr, true);
  assert.is((initiates[2].command.replSetInitiate as { configsvr?: boolean }).configsvr, undefined);
  assert.equal(p.commands.filter((c) => c.kind === 'waitForPrimary').length, 4);
  assert.equal(p.commands.filter((c) => c.kind === 'addShard').map((c) => c.command.addShard), [
    'sh1/10.0.0.1:30001,10.0.0.2:30001,10.0.0.3:30001', 'sh2/10.0.0.2:30002,10.0.0.3:30002,10.0.0.1:30002', 'sh3/10.0.0.3:30003,10.0.0.1:30003,10.0.0.2:30003',
  ]);
  assert.equal(p.commands.filter((c) => c.kind === 'shardCollection').map((c) => c.command), [
    { shardCollection: 'app.users', key: { _id: 'hashed' } }, { shardCollection: 'app.posts', key: { _id: 'hashed' } },
  ], 'a list of names means hashed _id');
  assert.ok(p.commands.filter((c) => !c.localhostException).every((c) => c.target === '10.0.0.1:27018' && c.auth === 'root'));
  assert.equal(p.stopOrder[1].processes, ['10.0.0.1:27018', '10.0.0.2:27018', '10.0.0.3:27018']);
  assert.equal(p.stopOrder.map((s) => s.replSet ?? s.kind), ['balancerStop', 'shutdownRouters', 'sh1', 'sh2', 'sh3', 'cfgRS']);
});

test('three hosts: snapshot', async () => {
  matchSnapshot('plan-three-host.json', (await plan('three-host.json')).stdout);
});

test('plan without --json prints the steps readably, passwords redacted', async () => {
  const result = await runCli(['ops', 'mongo', 'plan', '--config', join(fixtures, 'one-host.json')]);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /7\. create the root user -> 127\.0\.0\.1:27018 over localhost/);
  assert.not.match(result.stdout, new RegExp(FIXTURE_ENV.MONGO_ROOT_PWD));
});

test.run();
