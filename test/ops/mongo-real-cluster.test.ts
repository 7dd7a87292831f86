/**
 * A real MongoDB sharded cluster on this machine: up → init → insert 10,000 documents → more
 * than one shard holds data → status → down. Runs only when MONGOD_BIN and MONGOS_BIN name
 * MongoDB binaries (none can be installed on the CI machines); otherwise prints a SKIP line.
 *
 * Layout: config replica set of 1, two shard replica sets of 1, one mongos, all on 127.0.0.1
 * at free ports, data under a temp dir.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { parseClusterConfig, type ClusterConfig } from '../../src/config/index.js';
import { runDown } from '../../ops/mongo/down.js';
import { runInit } from '../../ops/mongo/init.js';
import { generateKeyfile } from '../../ops/mongo/keyfile.js';
import { buildMongoPlan } from '../../ops/mongo/plan.js';
import { isListening } from '../../ops/mongo/processes.js';
import { readStatus } from '../../ops/mongo/status.js';
import { hostMatcher } from '../../ops/mongo/this-host.js';
import { runUp } from '../../ops/mongo/up.js';
import { freePorts, tempDir } from './helpers.js';

const { MONGOD_BIN, MONGOS_BIN } = process.env;
const available = Boolean(MONGOD_BIN && MONGOS_BIN && existsSync(MONGOD_BIN) && existsSync(MONGOS_BIN));
const ENV = { ROOT_USER: 'root', ROOT_PWD: 'real-root-pw', APP_USER: 'app', APP_PWD: 'real-app-pw' };
const HOST = '127.0.0.1';
const log = (line: string) => console.log(`    ${line}`);

async function realConfig(): Promise<ClusterConfig> {
  const dir = tempDir('mongo-real');
  const [web, clustering, cfg, sh1, sh2, router] = await freePorts(6);
  const keyFile = join(dir, 'keyfile');
  generateKeyfile(keyFile);
  return parseClusterConfig({
    clusteringPort: clustering,
    servers: { a: { host: HOST, webPort: web } },
    mongo: {
      database: 'app', keyFile, dataDir: join(dir, 'data'),
      configServers: { replSet: 'cfgRS', members: [{ host: HOST, port: cfg }] },
      shards: [{ replSet: 'sh1', members: [{ host: HOST, port: sh1 }] }, { replSet: 'sh2', members: [{ host: HOST, port: sh2 }] }],
      routers: [{ host: HOST, port: router }],
      shardedCollections: ['users'],
      users: { root: { user: 'env:ROOT_USER', pwd: 'env:ROOT_PWD' }, app: { user: 'env:APP_USER', pwd: 'env:APP_PWD' } },
    },
  }, { env: ENV });
}

const NAME = 'up → init → 10,000 documents over two shards → status → down';

async function realCluster(): Promise<void> {
  const config = await realConfig();
  const mongo = config.mongo!;
  const plan = buildMongoPlan(mongo);
  const hosts = hostMatcher();
  try {
    const started = await runUp(mongo, plan, { hosts, log });
    assert.equal(started.map((p) => p.role), ['configsvr', 'shardsvr', 'shardsvr'], 'mongos waits for a config primary');

    const first = await runInit(mongo, plan, { hosts, log, pollIntervalMs: 250 });
    assert.ok(first.steps.every((s) => s.outcome === 'done'));
    for (const p of plan.processes) assert.ok(await isListening(HOST, p.port), `${p.name} listens (init started mongos)`);
    assert.is((await runUp(mongo, plan, { hosts, log })).length, 0, 'up again: everything already runs');
    const second = await runInit(mongo, plan, { hosts, log });
    assert.ok(second.steps.filter((s) => !s.step.startsWith('wait')).every((s) => s.outcome === 'skipped'), 'rerun is a no-op');

    // The application's view: the app user through mongos, as config.mongo.url says.
    const app = new MongoClient(mongo.url);
    try {
      await app.connect();
      const users = app.db('app').collection('users');
      const docs = Array.from({ length: 10_000 }, (_, i) => ({ name: `user-${i}`, n: i }));
      const inserted = await users.insertMany(docs);
      assert.is(inserted.insertedCount, 10_000);
      assert.is(await users.countDocuments(), 10_000);
    } finally {
      await app.close();
    }

    const status = await readStatus(mongo, { hosts });
    assert.equal(status.shards.map((s) => s.id).sort(), ['sh1', 'sh2']);
    const users = status.collections.find((c) => c.ns === 'app.users');
    assert.ok(users, 'app.users is sharded');
    assert.equal(users!.key, { _id: 'hashed' });
    const perShard = Object.values(users!.documentsPerShard).filter((n) => n > 0);
    assert.ok(perShard.length > 1, `more than one shard holds data: ${JSON.stringify(users!.documentsPerShard)}`);
    assert.is(perShard.reduce((a, b) => a + b, 0), 10_000);
    assert.ok(status.replicaSets.every((r) => r.primary !== null), 'every replica set has a primary');
  } finally {
    await runDown(mongo, plan, { hosts, log, env: process.env });
  }
  for (const p of plan.processes) assert.not.ok(await isListening(HOST, p.port), `${p.name} stopped`);
}

if (available) {
  test(NAME, realCluster);
} else {
  // Counted as skipped by uvu and by test/run.ts's summary, and said out loud.
  console.log('SKIP mongo-real-cluster: set MONGOD_BIN and MONGOS_BIN to MongoDB binaries to run the real sharded-cluster test (up, init, 10,000 inserts, status, down)');
  test.skip(NAME, realCluster);
}

test.run();
