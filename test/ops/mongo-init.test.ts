/**
 * `init` against the scripted wire-protocol peer (test/helpers/mongo-wire-peer.ts), through the
 * real mongodb driver: the commands that reach the "servers" are exactly the planned ones, in
 * order; a second run sends nothing that mutates; a failure at addShard stops with the step
 * named and a rerun resumes. Also: status and the first phases of down against the same peer.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Document } from 'mongodb';
import { parseClusterConfig, type MongoConfig } from '../../src/config/index.js';
import { StepFailedError } from '../../ops/errors.js';
import { runDown } from '../../ops/mongo/down.js';
import { runInit } from '../../ops/mongo/init.js';
import { buildMongoPlan, type MongoPlan } from '../../ops/mongo/plan.js';
import { isListening } from '../../ops/mongo/processes.js';
import { readStatus } from '../../ops/mongo/status.js';
import { hostMatcher } from '../../ops/mongo/this-host.js';
import { ScriptedMongoCluster, type PeerEndpoint, type RecordedCommand } from '../helpers/mongo-wire-peer.js';
import { freePorts, runCli, writeConfig } from './helpers.js';

const HOST = '127.0.0.1';
const ENV = { ROOT_USER: 'root', ROOT_PWD: 'r00t-pw', APP_USER: 'appuser', APP_PWD: 'app-pw' };
const PLANNED_NAMES = new Set(['replSetInitiate', 'replSetGetStatus', 'createUser', 'addShard', 'enableSharding', 'shardCollection']);
const quiet = () => undefined;

interface Setup { raw: Document; mongo: MongoConfig; plan: MongoPlan; peer: ScriptedMongoCluster }

/** A one-host cluster on free ports: cfgRS × 3, two shards × 3 members, one mongos. */
async function setup(): Promise<Setup> {
  const [web, clustering, router, ...ports] = await freePorts(12);
  const members = (from: number) => ports.slice(from, from + 3).map((port) => ({ host: HOST, port }));
  const raw = {
    clusteringPort: clustering,
    servers: { a: { host: HOST, webPort: web } },
    mongo: {
      database: 'app', keyFile: '/srv/mongodb/keyfile',
      configServers: { replSet: 'cfgRS', members: members(0) },
      shards: [{ replSet: 'sh1', members: members(3) }, { replSet: 'sh2', members: members(6) }],
      routers: [{ host: HOST, port: router }],
      shardedCollections: { users: { _id: 'hashed' }, events: { tenant: 1 } },
      users: { root: { user: 'env:ROOT_USER', pwd: 'env:ROOT_PWD' }, app: { user: 'env:APP_USER', pwd: 'env:APP_PWD' } },
    },
  };
  const mongo = parseClusterConfig(raw, { env: ENV }).mongo!;
  const peer = new ScriptedMongoCluster();
  const endpoints: PeerEndpoint[] = [
    ...mongo.configServers.members.map((m) => ({ ...m, kind: 'mongod' as const, replSet: 'cfgRS', configsvr: true })),
    ...mongo.shards.flatMap((s) => s.members.map((m) => ({ ...m, kind: 'mongod' as const, replSet: s.replSet }))),
    ...mongo.routers.map((m) => ({ ...m, kind: 'mongos' as const })),
  ];
  await peer.listen(endpoints);
  return { raw, mongo, plan: buildMongoPlan(mongo), peer };
}

function init(s: Setup, extra: Partial<Parameters<typeof runInit>[2]> = {}) {
  return runInit(s.mongo, s.plan, { hosts: hostMatcher(), pollIntervalMs: 5, log: quiet, ...extra });
}

/** The driver adds $db, lsid, $clusterTime, $readPreference…; compare the command itself. */
function strip(command: Document): Document {
  return Object.fromEntries(Object.entries(command).filter(([k]) => !k.startsWith('$') && k !== 'lsid'));
}

/** Recorded planned-kind commands, with each run of identical replSetGetStatus polls folded to one. */
function foldPolls(commands: RecordedCommand[]): Array<{ target: string; db: string; command: Document }> {
  const out: Array<{ target: string; db: string; command: Document }> = [];
  for (const c of commands.filter((x) => PLANNED_NAMES.has(x.name))) {
    const previous = out[out.length - 1];
    if (c.name === 'replSetGetStatus' && previous && previous.target === c.endpoint && 'replSetGetStatus' in previous.command) continue;
    out.push({ target: c.endpoint, db: c.db, command: strip(c.command) });
  }
  return out;
}

test('the real driver sends exactly the planned sequence', async () => {
  const s = await setup();
  try {
    const result = await init(s);
    assert.ok(result.steps.every((x) => x.outcome === 'done'));
    const planned = s.plan.commands.map((c) => ({ target: c.target, db: c.db, command: c.command }));
    assert.equal(foldPolls(s.peer.commands), planned);
    // The waits really waited: each set answered PRIMARY only after a few polls.
    for (const set of ['cfgRS', 'sh1', 'sh2']) {
      const target = s.plan.commands.find((c) => c.kind === 'waitForPrimary' && c.step.endsWith(set))!.target;
      const polls = s.peer.commands.filter((c) => c.name === 'replSetGetStatus' && c.endpoint === target).length;
      assert.ok(polls >= s.peer.pollsUntilPrimary, `${set}: ${polls} polls`);
    }
    const createUsers = s.peer.commands.filter((c) => c.name === 'createUser');
    assert.is(createUsers[0].user, undefined, 'the root user is created without a login (localhost exception)');
    assert.is(createUsers[0].command.pwd, ENV.ROOT_PWD);
    assert.is(createUsers[1].user, 'root', 'the app user is created as root');
    assert.ok(s.peer.commands.filter((c) => ['addShard', 'enableSharding', 'shardCollection'].includes(c.name)).every((c) => c.user === 'root'));
    assert.equal(s.peer.shards.map((x) => x.host), [`sh1/${s.mongo.shards[0].members.map((m) => `${HOST}:${m.port}`).join(',')}`, `sh2/${s.mongo.shards[1].members.map((m) => `${HOST}:${m.port}`).join(',')}`]);
  } finally {
    await s.peer.close();
  }
});

test('a second init sends no mutating command', async () => {
  const s = await setup();
  try {
    await init(s);
    const before = s.peer.mutatingCommands().length;
    const seen = s.peer.commands.length;
    const again = await init(s);
    assert.is(s.peer.mutatingCommands().length, before, 'nothing mutating on the rerun');
    assert.ok(s.peer.commands.length > seen, 'the rerun did read the cluster');
    assert.equal(again.steps.filter((x) => x.outcome === 'done').map((x) => x.step), ['wait for a primary in cfgRS', 'wait for a primary in sh1', 'wait for a primary in sh2']);
    assert.ok(again.steps.filter((x) => !x.step.startsWith('wait')).every((x) => x.outcome === 'skipped'));
  } finally {
    await s.peer.close();
  }
});

test('a failure at addShard stops with the step named; a rerun resumes', async () => {
  const s = await setup();
  try {
    s.peer.injectFailure('addShard', { code: 96, errmsg: 'failed to connect to the shard', codeName: 'OperationFailed' });
    let caught: unknown;
    await init(s).catch((error) => (caught = error));
    assert.instance(caught, StepFailedError);
    const error = caught as StepFailedError;
    assert.is(error.step, 'add shard sh1');
    assert.match(error.message, /step 8\/13 'add shard sh1' failed: .*failed to connect to the shard/);
    assert.match(error.message, /rerun `boxwire ops mongo init --config/);
    assert.not.ok(s.peer.commands.some((c) => c.name === 'enableSharding'), 'nothing after the failed step ran');
    s.peer.clearFailures();
    const mark = s.peer.commands.length;
    const resumed = await init(s);
    const after = s.peer.commands.slice(mark).filter((c) => ['replSetInitiate', 'createUser', 'addShard'].includes(c.name));
    assert.equal(after.map((c) => `${c.name} ${c.command.createUser ?? c.command.name ?? ''}`.trim()), ['addShard sh1', 'addShard sh2', `createUser ${ENV.APP_USER}`]);
    assert.ok(resumed.steps.slice(0, 3).every((x) => x.outcome === 'skipped'));
  } finally {
    await s.peer.close();
  }
});

test('a localhost-exception step for another host stops and says where to run init', async () => {
  const s = await setup();
  try {
    let caught: unknown;
    await init(s, { hosts: hostMatcher('10.9.9.9') }).catch((error) => (caught = error));
    assert.instance(caught, StepFailedError);
    assert.match((caught as Error).message, /'initiate config replica set cfgRS' failed: MongoDB accepts this step only over localhost/);
    assert.match((caught as Error).message, /run `boxwire ops mongo init --config .*` on 127\.0\.0\.1/);
    assert.is(s.peer.mutatingCommands().length, 0);
  } finally {
    await s.peer.close();
  }
});

test('status reads shards, collections, balancer and primaries', async () => {
  const s = await setup();
  try {
    await init(s);
    const status = await readStatus(s.mongo, { hosts: hostMatcher() });
    assert.equal(status.shards.map((x) => x.id), ['sh1', 'sh2']);
    assert.equal(status.databases.map((d) => d.name), ['app']);
    assert.equal(status.collections.map((c) => [c.ns, c.key]), [['app.users', { _id: 'hashed' }], ['app.events', { tenant: 1 }]]);
    assert.is(status.balancer.mode, 'full');
    assert.equal(status.replicaSets.map((r) => [r.replSet, r.primary]), [
      ['cfgRS', `${HOST}:${s.mongo.configServers.members[0].port}`], ['sh1', `${HOST}:${s.mongo.shards[0].members[0].port}`], ['sh2', `${HOST}:${s.mongo.shards[1].members[0].port}`],
    ]);
    assert.equal(status.replicaSets[1].members.map((m) => m.state), ['primary', 'secondary', 'secondary']);
  } finally {
    await s.peer.close();
  }
});

test('down: the balancer first, then mongos through the admin shutdown command', async () => {
  const s = await setup();
  try {
    await init(s);
    const router = s.mongo.routers[0];
    await runDown(s.mongo, s.plan, { hosts: hostMatcher(), phase: 'balancer', log: quiet });
    assert.is(s.peer.balancerMode, 'off');
    await runDown(s.mongo, s.plan, { hosts: hostMatcher(), phase: 'routers', log: quiet, stopTimeoutMs: 10_000 });
    const names = s.peer.commands.filter((c) => ['balancerStop', 'shutdown'].includes(c.name));
    assert.equal(names.map((c) => [c.name, c.endpoint, c.user]), [['balancerStop', `${HOST}:${router.port}`, 'root'], ['shutdown', `${HOST}:${router.port}`, 'root']]);
    assert.not.ok(await isListening(HOST, router.port), 'mongos is gone');
  } finally {
    await s.peer.close();
  }
});

test('CLI: init --dry-run prints every step and contacts nothing; init runs and reruns', async () => {
  const s = await setup();
  try {
    const path = writeConfig(s.raw);
    const dry = await runCli(['ops', 'mongo', 'init', '--config', path, '--dry-run'], ENV);
    assert.is(dry.code, 0, dry.stderr);
    assert.is(dry.stdout.match(/^\[\d+\/13\]/gm)?.length, 13);
    assert.not.ok(dry.stdout.includes(ENV.ROOT_PWD), 'passwords redacted');
    assert.is(s.peer.commands.length, 0, 'a dry run contacts no server');
    const run = await runCli(['ops', 'mongo', 'init', '--config', path], ENV);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stdout, /\[13\/13\] create the app user: done/);
    const rerun = await runCli(['ops', 'mongo', 'init', '--config', path], ENV);
    assert.match(rerun.stdout, /\[13\/13\] create the app user: already done/);
    s.peer.injectFailure('shardCollection', { code: 20, errmsg: 'boom' });
    s.peer.collections.length = 0;
    const failed = await runCli(['ops', 'mongo', 'init', '--config', path], ENV);
    assert.is(failed.code, 1);
    assert.match(failed.stderr, /step 11\/13 'shard app\.users' failed: .*boom/);
  } finally {
    await s.peer.close();
  }
});

test.run();
