/**
 * A config file is input from outside: no key in it may reach a prototype. `__proto__`,
 * `constructor` and `prototype` keys (as JSON.parse makes them: own properties) are refused at any
 * depth with one line naming the key, so are such names where the file's values become keys
 * (`mongo.shardedCollections` as a list); and only plain objects count as sections.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigValidationError, loadClusterConfig, parseClusterConfig } from '../../src/config/index.js';
import { configProblems, runCli, tempDir } from '../ops/helpers.js';

const ENV = { ROOT_USER: 'root', ROOT_PWD: 'pw1' };
const SERVERS = '"servers": { "a": { "host": "10.0.0.1", "webPort": 8080 } }';
const MONGO = `"mongo": { "database": "app", "keyFile": "/srv/keyfile",
  "configServers": { "replSet": "cfg", "members": [{ "host": "10.0.0.1", "port": 40001 }] },
  "shards": [{ "replSet": "sh1", "members": [{ "host": "10.0.0.1", "port": 30001 }] }],
  "routers": [{ "host": "10.0.0.1", "port": 27017 }],
  "users": { "root": { "user": "env:ROOT_USER", "pwd": "env:ROOT_PWD" } }, "shardedCollections": SHARDED }`;

function problemsOfText(text: string): string[] {
  return configProblems(JSON.parse(text), ENV);
}

function assertNotPolluted(): void {
  const probe = {} as Record<string, unknown>;
  assert.is(probe.polluted, undefined, 'Object.prototype was not touched');
  assert.is(probe.hashed, undefined);
  assert.is(probe._id, undefined);
}

const cases: Array<[string, string, RegExp]> = [
  ['at the top', `{ "clusteringPort": 8125, ${SERVERS}, "__proto__": { "polluted": 1 } }`, /^__proto__: the key '__proto__' is refused/],
  ['in a server', `{ "clusteringPort": 8125, "servers": { "a": { "host": "10.0.0.1", "webPort": 8080, "__proto__": { "polluted": 1 } } } }`, /^servers\.a\.__proto__: the key '__proto__' is refused/],
  ['as a server name', `{ "clusteringPort": 8125, "servers": { "a": { "host": "10.0.0.1", "webPort": 8080 }, "constructor": { "host": "10.0.0.2", "webPort": 8080 } } }`, /^servers\.constructor: the key 'constructor' is refused/],
  ['in a section', `{ "clusteringPort": 8125, ${SERVERS}, "redis": { "url": "redis://10.0.0.5:6379", "prototype": {} } }`, /^redis\.prototype: the key 'prototype' is refused/],
  ['deep in mongo', `{ "clusteringPort": 8125, ${SERVERS}, ${MONGO.replace('SHARDED', '[]').replace('"routers"', '"__proto__": { "polluted": 1 }, "routers"')} }`, /^mongo\.__proto__: the key '__proto__' is refused/],
  ['as a sharded collection (object form)', `{ "clusteringPort": 8125, ${SERVERS}, ${MONGO.replace('SHARDED', '{ "__proto__": { "_id": "hashed" } }')} }`, /^mongo\.shardedCollections\.__proto__: the key '__proto__' is refused/],
  ['as a sharded collection (list form)', `{ "clusteringPort": 8125, ${SERVERS}, ${MONGO.replace('SHARDED', '["users", "__proto__"]')} }`, /^mongo\.shardedCollections\[1\]: the collection name '__proto__' is refused/],
  ['as a dotted segment', `{ "clusteringPort": 8125, ${SERVERS}, "store": { "engine": "memory", "x.constructor": 1 } }`, /^store\.x\.constructor: the key 'x\.constructor' is refused/],
];

for (const [name, text, expected] of cases) {
  test(`a prototype key ${name} is refused with the key named`, () => {
    const problems = problemsOfText(text);
    assert.is(problems.length, 1, problems.join('\n'));
    assert.match(problems[0], expected);
    assertNotPolluted();
  });
}

test("a sharded collection named 'constructor' in the list form is refused too (it would shadow a key of the result)", () => {
  const problems = problemsOfText(`{ "clusteringPort": 8125, ${SERVERS}, ${MONGO.replace('SHARDED', '["constructor"]')} }`);
  assert.equal(problems, ["mongo.shardedCollections[0]: the collection name 'constructor' is refused ('__proto__', 'prototype' and 'constructor' are never valid names)"]);
});

test('normal sharded collections still load, in both forms', () => {
  const list = parseClusterConfig(JSON.parse(`{ "clusteringPort": 8125, ${SERVERS}, ${MONGO.replace('SHARDED', '["users", "orders"]')} }`), { env: ENV });
  assert.equal(list.mongo!.shardedCollections, { users: { _id: 'hashed' }, orders: { _id: 'hashed' } });
  assert.is(Object.getPrototypeOf(list.mongo!.shardedCollections), Object.prototype);
  const keyed = parseClusterConfig(JSON.parse(`{ "clusteringPort": 8125, ${SERVERS}, ${MONGO.replace('SHARDED', '{ "users": { "tenant": 1, "_id": "hashed" } }')} }`), { env: ENV });
  assert.equal(keyed.mongo!.shardedCollections, { users: { tenant: 1, _id: 'hashed' } });
});

test('sections must be plain objects: Object.create(null) ones are fine, class instances and arrays are not', () => {
  const bare = Object.assign(Object.create(null), { clusteringPort: 8125, servers: Object.assign(Object.create(null), { a: { host: '10.0.0.1', webPort: 8080 } }) });
  assert.equal(Object.keys(parseClusterConfig(bare).servers), ['a']);
  class Settings {
    clusteringPort = 8125;
    servers = { a: { host: '10.0.0.1', webPort: 8080 } };
  }
  assert.equal(configProblems(new Settings(), {}), ['(root): must be a JSON object']);
  assert.equal(configProblems([], {}), ['(root): must be a JSON object']);
  assert.match(configProblems({ clusteringPort: 8125, servers: { a: { host: '10.0.0.1', webPort: 8080 } }, redis: new Map() }, {})[0], /^redis: must be an object/);
});

test('from a file and through the CLI: refused with the key named, exit 1', async () => {
  const dir = tempDir('hostile-config');
  const path = join(dir, 'cluster.json');
  writeFileSync(path, `{ "clusteringPort": 8125, "servers": { "a": { "host": "127.0.0.2", "webPort": 8080, "__proto__": { "roles": ["api"] } } } }`);
  try {
    loadClusterConfig(path);
    assert.unreachable('accepted');
  } catch (error) {
    assert.instance(error, ConfigValidationError);
    assert.equal((error as ConfigValidationError).problems, ["servers.a.__proto__: the key '__proto__' is refused ('__proto__', 'prototype' and 'constructor' are never valid names)"]);
  }
  const result = await runCli(['ops', 'lb', 'nginx', '--config', path]);
  assert.is(result.code, 1, result.stdout);
  assert.match(result.stderr, /servers\.a\.__proto__: the key '__proto__' is refused/);
  assertNotPolluted();
});

test.run();
