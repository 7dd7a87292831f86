/**
 * The cluster config schema (src/config/): the normalized result, and every validation
 * error — each reported as one line naming its key, all collected in one pass. Then the CLI:
 * a bad config prints those lines and exits 1.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigValidationError, loadClusterConfig, parseClusterConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/core/errors.js';
import { configProblems, fixtures, FIXTURE_ENV, runCli, tempDir, writeConfig } from '../ops/helpers.js';
import { SAMPLE_ENV, sampleMongo } from './sample-config.js';

const ENV = SAMPLE_ENV;

function base(): Record<string, any> {
  return {
    clusteringPort: 8125,
    servers: {
      a: { host: '10.0.0.1', webPort: 8080 },
      b: { host: '10.0.0.2', webPort: 8080, roles: ['api'] },
    },
    mongo: sampleMongo(),
  };
}

function problemsOf(edit: (c: Record<string, any>) => void, env: Record<string, string> = ENV): string[] {
  const config = base();
  edit(config);
  return configProblems(config, env);
}

test('a valid config is normalized: defaults, roles, env values, derived mongo url', () => {
  const config = parseClusterConfig(base(), { env: ENV });
  assert.is(config.clusteringPort, 8125);
  assert.is(config.maxUploadFileMB, 100);
  assert.equal(config.servers.a.roles, ['front-door', 'api', 'upload'], 'no roles named: every role');
  assert.equal(config.servers.b.roles, ['api']);
  assert.equal(config.mongo!.users.root, { user: 'root', pwd: 'pw1' });
  assert.is(config.mongo!.dataDir, '/data/mongo');
  assert.is(config.mongo!.logDir, '/data/mongo/log');
  assert.equal(config.mongo!.shardedCollections, {});
  assert.is(config.mongo!.url, 'mongodb://app:pw2@10.0.0.1:27018/app?authSource=app');
  assert.is(config.mongo!.cacheSizeGB, 1);
});

test('the fixture configs load from disk', () => {
  const one = loadClusterConfig(join(fixtures, 'one-host.json'), { env: FIXTURE_ENV });
  assert.equal(one.mongo!.shardedCollections.events, { tenant: 1, at: 1 });
  const three = loadClusterConfig(join(fixtures, 'three-host.json'), { env: FIXTURE_ENV });
  assert.is(three.maxUploadFileMB, 250);
  assert.is(three.clusterKey, FIXTURE_ENV.BOXWIRE_CLUSTER_KEY);
  assert.equal(three.mongo!.shardedCollections, { users: { _id: 'hashed' }, posts: { _id: 'hashed' } });
});

// Every error case: [what, edit, expected line]. Each must be the only problem reported.
// Two servers on one host always clash on the shared clusteringPort too: those cases report 2.
const cases: Array<[string, (c: Record<string, any>) => void, RegExp, number?]> = [
  ['clusteringPort missing', (c) => delete c.clusteringPort, /^clusteringPort: missing/],
  ['clusteringPort out of range', (c) => (c.clusteringPort = 70000), /^clusteringPort: must be a TCP port, 1–65535, got 70000/],
  ['clusteringPort not a number', (c) => (c.clusteringPort = 'x'), /^clusteringPort: must be a TCP port/],
  ['unknown top-level key', (c) => (c.sever = {}), /^sever: unknown key/],
  ['clusterKey empty', (c) => (c.clusterKey = ''), /^clusterKey: must be a non-empty string/],
  ['maxUploadFileMB negative', (c) => (c.maxUploadFileMB = -1), /^maxUploadFileMB: must be a positive number/],
  ['boxes not an array', (c) => (c.boxes = 'sample'), /^boxes: must be an array/],
  ['bad box name', (c) => (c.boxes = ['ok', '9bad']), /^boxes\[1\]: must be a box name/],
  ['box listed twice', (c) => (c.boxes = ['x', 'x']), /^boxes\[1\]: 'x' is listed twice/],
  ['defaultBox not in boxes', (c) => { c.boxes = ['sample']; c.defaultBox = 'other'; }, /^defaultBox: 'other' is not one of boxes/],
  ['defaultBox bad', (c) => (c.defaultBox = 5), /^defaultBox: must be a box name/],
  ['no servers', (c) => (c.servers = {}), /^servers: must name at least one server/],
  ['servers not an object', (c) => (c.servers = []), /^servers: must name at least one server/],
  ['bad server name', (c) => (c.servers['bad name'] = { host: '10.0.0.9', webPort: 1 }), /^servers\.bad name: server names use/],
  ['server not an object', (c) => (c.servers.a = 'x'), /^servers\.a: must be an object/],
  ['server host missing', (c) => delete c.servers.a.host, /^servers\.a\.host: must be a host name or IP address, got nothing/],
  ['server host with a port', (c) => (c.servers.a.host = '10.0.0.1:8080'), /^servers\.a\.host: must be a bare host name/],
  ['IPv6 literal accepted, IPv6 with brackets and port refused', (c) => { c.servers.a.host = '::1'; c.servers.b.host = '[fe80::1]:80'; delete c.mongo; }, /^servers\.b\.host: must be a bare host name/],
  ['server host is a URL', (c) => (c.servers.a.host = 'http://x'), /^servers\.a\.host: must be a bare host name/],
  ['webPort missing', (c) => delete c.servers.a.webPort, /^servers\.a\.webPort: missing/],
  ['webPort zero', (c) => (c.servers.a.webPort = 0), /^servers\.a\.webPort: must be a TCP port/],
  ['unknown server key', (c) => (c.servers.a.webport = 1), /^servers\.a\.webport: unknown key/],
  ['unknown role', (c) => (c.servers.a.roles = ['api', 'db']), /^servers\.a\.roles\[1\]: unknown role "db"/],
  ['empty roles', (c) => (c.servers.a.roles = []), /^servers\.a\.roles: must be a non-empty array/],
  ['role twice', (c) => (c.servers.a.roles = ['api', 'api']), /^servers\.a\.roles\[1\]: 'api' is listed twice/],
  ['workers negative', (c) => (c.servers.a.workers = -1), /^servers\.a\.workers: must be a whole number/],
  ['dataDir empty', (c) => (c.servers.a.dataDir = ''), /^servers\.a\.dataDir: must be a non-empty string/],
  ['duplicate host:webPort', (c) => (c.servers.b = { host: '10.0.0.1', webPort: 8080 }), /^servers\.b\.webPort: 10\.0\.0\.1:8080 is already used by servers\.a\.webPort/, 2],
  ['duplicate host:clusteringPort', (c) => (c.servers.b = { host: '10.0.0.1', webPort: 9090 }), /^servers\.b \(clusteringPort\): 10\.0\.0\.1:8125 is already used by servers\.a \(clusteringPort\)/],
  ['webPort equals clusteringPort', (c) => (c.servers.b.webPort = 8125), /^servers\.b \(clusteringPort\): 10\.0\.0\.2:8125 is already used by servers\.b\.webPort/],
  ['localhost and 127.0.0.1 are one host', (c) => { c.servers.a.host = 'localhost'; c.servers.b = { host: '127.0.0.1', webPort: 8080 }; delete c.mongo; }, /^servers\.b\.webPort: 127\.0\.0\.1:8080 is already used/, 2],
  ['redis not an object', (c) => (c.redis = 'redis://x'), /^redis: must be an object/],
  ['redis url bad', (c) => (c.redis = { url: 'http://x' }), /^redis\.url: must be a redis:\/\/ or rediss:\/\/ URL/],
  ['missing env var', (c) => (c.clusterKey = 'env:NOPE_KEY'), /^clusterKey: environment variable NOPE_KEY is not set/],
];

for (const [name, edit, expected, count = 1] of cases) {
  test(`config error: ${name}`, () => {
    const problems = problemsOf(edit);
    assert.is(problems.length, count, `${count} problem(s), got: ${JSON.stringify(problems)}`);
    assert.match(problems[0], expected);
  });
}

test('all problems are collected in one pass', () => {
  const problems = problemsOf((c) => {
    c.clusteringPort = 0;
    c.servers.a.webPort = 'x';
    c.servers.b.roles = ['nope'];
    c.redis = { url: 'x' };
  });
  assert.is(problems.length, 4, JSON.stringify(problems));
});

test('ConfigValidationError is a ConfigError (code BOXWIRE_CONFIG) with every line in its message', () => {
  const error = new ConfigValidationError(['a: one', 'b: two'], 'x.json');
  assert.instance(error, ConfigError);
  assert.is(error.code, 'BOXWIRE_CONFIG');
  assert.is(error.message, 'invalid x.json:\n  a: one\n  b: two');
});

test('env values fill numeric fields too', () => {
  const config = base();
  config.servers.a.webPort = 'env:WEB_PORT';
  assert.is(parseClusterConfig(config, { env: { ...ENV, WEB_PORT: '9000' } }).servers.a.webPort, 9000);
});

test('$schema, // and _comment keys are ignored', () => {
  const config = base();
  config.$schema = 'x';
  config['// note'] = 'y';
  config.servers.a._comment = 'z';
  parseClusterConfig(config, { env: ENV });
});

test('loadClusterConfig: unreadable file and bad JSON are one clear problem each', () => {
  const dir = tempDir('config');
  const missing = join(dir, 'missing.json');
  try { loadClusterConfig(missing); assert.unreachable(); } catch (error) {
    assert.match((error as ConfigValidationError).problems[0], /^cannot read .*missing\.json/);
  }
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{ "clusteringPort": 1, }');
  try { loadClusterConfig(bad); assert.unreachable(); } catch (error) {
    assert.match((error as ConfigValidationError).problems[0], /bad\.json is not valid JSON/);
  }
});

test('CLI: a bad config prints one line per problem and exits 1', async () => {
  const config = base();
  // `ops lb` reads only servers, maxUploadFileMB and publicUrl: two problems among those.
  config.maxUploadFileMB = -1;
  config.servers.b.webPort = 70000;
  const path = writeConfig(config);
  const result = await runCli(['ops', 'lb', 'nginx', '--config', path], ENV);
  assert.is(result.code, 1);
  const lines = result.stderr.trim().split('\n');
  assert.match(lines[0], /invalid .*cluster\.json:/);
  assert.equal(lines.slice(1).map((l) => l.trim().split(':')[0]), ['maxUploadFileMB', 'servers.b.webPort']);
  assert.is(result.stdout, '');
});

test.run();
