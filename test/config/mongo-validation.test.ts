/**
 * Every validation error of the `mongo` section: one clear line each, naming the key; and the
 * CLI (`ops mongo plan`) printing them and exiting 1.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseClusterConfig } from '../../src/config/index.js';
import { configProblems, runCli, writeConfig } from '../ops/helpers.js';
import { SAMPLE_ENV, sampleMongo } from './sample-config.js';

const ENV = SAMPLE_ENV;

function base(): Record<string, any> {
  return {
    clusteringPort: 8125,
    servers: { a: { host: '10.0.0.1', webPort: 8080 } },
    mongo: sampleMongo(),
  };
}

function problemsOf(edit: (m: Record<string, any>, c: Record<string, any>) => void, env: Record<string, string> = ENV): string[] {
  const config = base();
  edit(config.mongo, config);
  return configProblems(config, env);
}

const cases: Array<[string, (m: Record<string, any>, c: Record<string, any>) => void, RegExp]> = [
  // The four named by the issue.
  ['localhost mixed with other hosts', (m) => (m.shards[0].members[0].host = 'localhost'),
    /^mongo: mongo\.shards\[0\]\.members\[0\] uses loopback host 'localhost' while mongo\.configServers\.members\[0\] uses '10\.0\.0\.1'; MongoDB refuses to mix/],
  ['127.0.0.1 mixed with other hosts', (m) => (m.routers[0].host = '127.0.0.1'), /^mongo: mongo\.routers\[0\] uses loopback host '127\.0\.0\.1' while/],
  ['duplicate host:port', (m) => (m.shards[1].members[0] = { host: '10.0.0.1', port: 30001 }),
    /^mongo\.shards\[1\]\.members\[0\]: 10\.0\.0\.1:30001 is already used by mongo\.shards\[0\]\.members\[0\]/],
  ['a shard without members', (m) => (m.shards[1].members = []), /^mongo\.shards\[1\]\.members: mongo\.shards\[1\] \(sh2\) has no members/],
  ['a missing keyfile path', (m) => delete m.keyFile, /^mongo\.keyFile: missing — the shared keyfile/],
  // The rest of the section.
  ['mongo not an object', (_m, c) => (c.mongo = 'mongodb://x'), /^mongo: must be an object/],
  ['unknown mongo key', (m) => (m.shard = []), /^mongo\.shard: unknown key/],
  ['keyFile relative', (m) => (m.keyFile = 'keyfile'), /^mongo\.keyFile: must be an absolute path/],
  ['dataDir relative', (m) => (m.dataDir = 'data'), /^mongo\.dataDir: must be an absolute path/],
  ['logDir relative', (m) => (m.logDir = 'log'), /^mongo\.logDir: must be an absolute path/],
  ['database missing', (m) => delete m.database, /^mongo\.database: must be a MongoDB database name/],
  ['database with a dot', (m) => (m.database = 'a.b'), /^mongo\.database: must be a MongoDB database name/],
  ['database reserved', (m) => (m.database = 'admin'), /^mongo\.database: 'admin' is reserved/],
  ['configServers missing', (m) => delete m.configServers, /^mongo\.configServers: must be \{ "replSet"/],
  ['config servers without members', (m) => (m.configServers.members = []), /^mongo\.configServers\.members: mongo\.configServers \(cfgRS\) has no members/],
  ['replSet name missing', (m) => delete m.shards[0].replSet, /^mongo\.shards\[0\]\.replSet: must be a replica set name/],
  ['replSet name reused', (m) => (m.shards[1].replSet = 'sh1'), /^mongo\.shards\[1\]\.replSet: 'sh1' is already the name of mongo\.shards\[0\]\.replSet/],
  ['shard named like the config set', (m) => (m.shards[0].replSet = 'cfgRS'), /^mongo\.shards\[0\]\.replSet: 'cfgRS' is already the name of mongo\.configServers\.replSet/],
  ['no shards', (m) => (m.shards = []), /^mongo\.shards: must list at least one shard/],
  ['no routers', (m) => (m.routers = []), /^mongo\.routers: at least one mongos/],
  ['member not an object', (m) => (m.routers = ['10.0.0.1:27018']), /^mongo\.routers\[0\]: must be \{ "host"/],
  ['member port bad', (m) => (m.shards[0].members[0].port = 99999), /^mongo\.shards\[0\]\.members\[0\]\.port: must be a TCP port/],
  ['member host missing', (m) => delete m.routers[0].host, /^mongo\.routers\[0\]\.host: must be a host name/],
  ['mongo port taken by a boxwire server', (m) => (m.routers[0].port = 8080), /^mongo\.routers\[0\]: 10\.0\.0\.1:8080 is already used by servers\.a\.webPort/],
  ['mongo port taken by the clustering port', (m) => (m.routers[0].port = 8125), /^mongo\.routers\[0\]: 10\.0\.0\.1:8125 is already used by clusteringPort of servers\.a/],
  ['shard key value bad', (m) => (m.shardedCollections = { users: { _id: 'hash' } }), /^mongo\.shardedCollections\.users\._id: a shard key field is 1, -1 or "hashed"/],
  ['two hashed fields', (m) => (m.shardedCollections = { users: { a: 'hashed', b: 'hashed' } }), /^mongo\.shardedCollections\.users: MongoDB allows at most one hashed field/],
  ['empty shard key', (m) => (m.shardedCollections = { users: {} }), /^mongo\.shardedCollections\.users: must be a shard key/],
  ['bad collection name', (m) => (m.shardedCollections = ['system.users']), /^mongo\.shardedCollections\[0\]: must be a collection name/],
  ['shardedCollections wrong type', (m) => (m.shardedCollections = 'users'), /^mongo\.shardedCollections: must be/],
  ['users missing', (m) => delete m.users, /^mongo\.users: must be \{ "root"/],
  ['root user missing', (m) => delete m.users.root, /^mongo\.users\.root: must be \{ "user"/],
  ['root pwd empty', (m) => (m.users.root.pwd = ''), /^mongo\.users\.root\.pwd: must be a non-empty string/],
  ['app user same as root', (m) => (m.users.app.user = 'env:ROOT_USER'), /^mongo\.users\.app\.user: must differ from the root user/],
  ['password env var not set', (m) => (m.users.root.pwd = 'env:NO_SUCH_PWD'), /^mongo\.users\.root\.pwd: environment variable NO_SUCH_PWD is not set/],
  ['url not mongodb', (m) => (m.url = 'http://x'), /^mongo\.url: must be a mongodb:\/\/ or mongodb\+srv:\/\/ connection string/],
  ['cacheSizeGB too small', (m) => (m.cacheSizeGB = 0.1), /^mongo\.cacheSizeGB: must be a number ≥ 0\.25/],
];

for (const [name, edit, expected] of cases) {
  test(`mongo error: ${name}`, () => {
    const problems = problemsOf(edit);
    assert.is(problems.length, 1, `exactly one problem, got: ${JSON.stringify(problems)}`);
    assert.match(problems[0], expected);
  });
}

test('an all-loopback cluster is fine (localhost and 127.0.0.1 together are both loopback)', () => {
  const config = base();
  config.servers.a.host = '127.0.0.1';
  for (const m of [...config.mongo.configServers.members, ...config.mongo.shards.flatMap((s: any) => s.members), ...config.mongo.routers]) m.host = '127.0.0.1';
  config.mongo.routers[0].host = 'localhost';
  parseClusterConfig(config, { env: ENV });
});

test('IPv6 loopback counts as loopback in either spelling: ::1 and [::1] mix with 127.0.0.1, not with real addresses', () => {
  const config = base();
  config.servers.a.host = '127.0.0.1';
  const members = [...config.mongo.configServers.members, ...config.mongo.shards.flatMap((s: any) => s.members), ...config.mongo.routers];
  members.forEach((m: any, i: number) => (m.host = ['127.0.0.1', '::1', '[::1]', 'localhost'][i % 4]));
  parseClusterConfig(config, { env: ENV });
  config.mongo.routers[0].host = '10.0.0.9';
  const problems = configProblems(config, ENV);
  assert.is(problems.length, 1, problems.join('\n'));
  assert.match(problems[0], /^mongo: mongo\.configServers\.members\[0\] uses loopback host '127\.0\.0\.1' while mongo\.routers\[0\] uses '10\.0\.0\.9'/);
});

test('CLI: ops mongo plan prints each of the four issue cases on its own line and exits 1', async () => {
  const config = base();
  config.mongo.shards[0].members[0].host = 'localhost';
  config.mongo.shards.push({ replSet: 'sh3', members: [] });
  config.mongo.routers.push({ host: '10.0.0.1', port: 40001 });
  delete config.mongo.keyFile;
  const result = await runCli(['ops', 'mongo', 'plan', '--config', writeConfig(config), '--json'], ENV);
  assert.is(result.code, 1);
  assert.is(result.stdout, '');
  const lines = result.stderr.trim().split('\n').slice(1).map((l) => l.trim());
  assert.is(lines.length, 4, result.stderr);
  assert.ok(lines.some((l) => l.startsWith('mongo.keyFile: missing')));
  assert.ok(lines.some((l) => l.startsWith('mongo.shards[2].members: mongo.shards[2] (sh3) has no members')));
  assert.ok(lines.some((l) => l.startsWith('mongo.routers[1]: 10.0.0.1:40001 is already used by mongo.configServers.members[0]')));
  assert.ok(lines.some((l) => l.startsWith("mongo: mongo.shards[0].members[0] uses loopback host 'localhost'")));
});

test('CLI: a config without a mongo section is refused by ops mongo', async () => {
  const config = base();
  delete config.mongo;
  const result = await runCli(['ops', 'mongo', 'plan', '--config', writeConfig(config)], ENV);
  assert.is(result.code, 1);
  assert.match(result.stderr, /has no "mongo" section/);
});

test.run();
