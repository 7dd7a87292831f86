/**
 * The MongoDB plan: a pure function from the cluster config to everything the other commands
 * do — which processes run where with which argv, the admin command documents in order, and
 * the stop order. `up`, `init`, `down` and `status` only execute parts of it, so `plan` shows
 * exactly what they will do and the tests can check it without a MongoDB server.
 *
 * What differs from the seed's recipe (and why):
 * - shards are replica sets started with `--shardsvr --replSet` (standalone shards refuse to
 *   start since MongoDB 3.6);
 * - every collection is sharded on a hashed `_id` by default (a ranged ObjectId key sends every
 *   insert to the last chunk, i.e. one shard);
 * - `addShard` names the replica set, `rs/host:port,…`;
 * - the first user is created through the localhost exception with `w: 'majority'`, and the
 *   replica sets are initiated through it too, so those steps target a member on the init host
 *   (the first router's host), connecting over 127.0.0.1;
 * - stop order: balancer, mongos, shards (secondaries first), config servers. Start is the reverse.
 */
import type { MongoConfig, MongoMember, MongoReplicaSet } from '../../src/config/index.js';
import { formatHost, isLoopback } from '../../src/core/host.js';

export type ProcessRole = 'configsvr' | 'shardsvr' | 'mongos';

export interface PlannedProcess {
  /** Unique per host and stable: `<replSet>-<port>` or `mongos-<port>`. */
  name: string;
  role: ProcessRole;
  host: string;
  port: number;
  replSet?: string;
  dbpath?: string;
  logpath: string;
  pidfile: string;
  /** The full command line; argv[0] is `mongod` or `mongos` (resolved to a binary by `up`). */
  argv: string[];
}

export type CommandKind = 'replSetInitiate' | 'waitForPrimary' | 'createRootUser' | 'addShard' | 'enableSharding' | 'shardCollection' | 'createAppUser';

export interface PlannedCommand {
  /** Names the step in progress output and in failures. */
  step: string;
  kind: CommandKind;
  /** host:port of the mongod or mongos that receives the command. */
  target: string;
  /**
   * Needs MongoDB's localhost exception (no user exists yet): `init` must run on the target's
   * host and connects to 127.0.0.1:<port>.
   */
  localhostException: boolean;
  /** Authenticate as the root user first. */
  auth: 'none' | 'root';
  db: string;
  command: Record<string, unknown>;
}

export type StopKind = 'balancerStop' | 'shutdownRouters' | 'shutdownReplicaSet';

export interface StopStep {
  step: string;
  kind: StopKind;
  role?: ProcessRole;
  replSet?: string;
  /** host:port of the processes this step stops, in the order tried (primaries are moved last at run time). */
  processes: string[];
  /** For balancerStop and mongos: the admin command sent. */
  target?: string;
  db?: string;
  command?: Record<string, unknown>;
  /** For mongods: `mongod --dbpath <dbpath> --shutdown`, run on the member's host. */
  secondariesFirst?: boolean;
}

export interface MongoPlan {
  /** In start order: config servers, shards, routers. */
  processes: PlannedProcess[];
  commands: PlannedCommand[];
  stopOrder: StopStep[];
}

export function buildMongoPlan(mongo: MongoConfig): MongoPlan {
  return { processes: planProcesses(mongo), commands: planCommands(mongo), stopOrder: planStopOrder(mongo) };
}

// ---------------------------------------------------------------------------------------------
// Processes

function planProcesses(mongo: MongoConfig): PlannedProcess[] {
  const mongodsPerHost = countMongodsPerHost(mongo);
  const mongods = [
    ...mongo.configServers.members.map((m) => mongodProcess(mongo, 'configsvr', mongo.configServers.replSet, m, mongodsPerHost)),
    ...mongo.shards.flatMap((shard) => shard.members.map((m) => mongodProcess(mongo, 'shardsvr', shard.replSet, m, mongodsPerHost))),
  ];
  return [...mongods, ...mongo.routers.map((r) => mongosProcess(mongo, r))];
}

function countMongodsPerHost(mongo: MongoConfig): Map<string, number> {
  const counts = new Map<string, number>();
  const members = [mongo.configServers, ...mongo.shards].flatMap((set) => set.members);
  for (const m of members) counts.set(m.host.toLowerCase(), (counts.get(m.host.toLowerCase()) ?? 0) + 1);
  return counts;
}

function mongodProcess(mongo: MongoConfig, role: 'configsvr' | 'shardsvr', replSet: string, member: MongoMember, perHost: Map<string, number>): PlannedProcess {
  const name = `${replSet}-${member.port}`;
  const dbpath = `${mongo.dataDir}/${name}`;
  const logpath = `${mongo.logDir}/${name}.log`;
  const pidfile = `${mongo.dataDir}/run/${name}.pid`;
  const argv = ['mongod', `--${role}`, '--replSet', replSet, '--port', String(member.port), ...bindArgs(member.host), '--keyFile', mongo.keyFile,
    '--dbpath', dbpath, '--logpath', logpath, '--logappend', '--pidfilepath', pidfile, '--fork'];
  // Each mongod sizes its WiredTiger cache from the whole machine's RAM; several on one host
  // would together claim more than there is.
  if ((perHost.get(member.host.toLowerCase()) ?? 0) > 1) argv.push('--wiredTigerCacheSizeGB', String(mongo.cacheSizeGB));
  return { name, role, host: member.host, port: member.port, replSet, dbpath, logpath, pidfile, argv };
}

function mongosProcess(mongo: MongoConfig, router: MongoMember): PlannedProcess {
  const name = `mongos-${router.port}`;
  const logpath = `${mongo.logDir}/${name}.log`;
  const pidfile = `${mongo.dataDir}/run/${name}.pid`;
  const argv = ['mongos', '--configdb', replicaSetAddress(mongo.configServers), '--port', String(router.port), ...bindArgs(router.host),
    '--keyFile', mongo.keyFile, '--logpath', logpath, '--logappend', '--pidfilepath', pidfile, '--fork'];
  return { name, role: 'mongos', host: router.host, port: router.port, logpath, pidfile, argv };
}

/** Always listen on localhost too: the localhost exception and local admin need it. */
function bindArgs(host: string): string[] {
  const bind = host.toLowerCase() === 'localhost' ? 'localhost' : `localhost,${host}`;
  return host.includes(':') ? ['--bind_ip', bind, '--ipv6'] : ['--bind_ip', bind];
}

export function memberAddress(member: MongoMember): string {
  return formatHost(member.host, member.port);
}

/** `rs/host:port,host:port` — how addShard and mongos --configdb name a replica set. */
export function replicaSetAddress(set: MongoReplicaSet): string {
  return `${set.replSet}/${set.members.map(memberAddress).join(',')}`;
}

// ---------------------------------------------------------------------------------------------
// Admin commands

/** The host init runs on: the first router's. Localhost-exception steps prefer a member there. */
export function initHost(mongo: MongoConfig): string {
  return mongo.routers[0].host;
}

function sameHost(a: string, b: string): boolean {
  if (isLoopback(a) && isLoopback(b)) return true;
  return a.toLowerCase() === b.toLowerCase();
}

function initiatingMember(mongo: MongoConfig, set: MongoReplicaSet): MongoMember {
  return set.members.find((m) => sameHost(m.host, initHost(mongo))) ?? set.members[0];
}

function planCommands(mongo: MongoConfig): PlannedCommand[] {
  const router = memberAddress(mongo.routers[0]);
  const sets = [mongo.configServers, ...mongo.shards];
  const commands: PlannedCommand[] = [];
  for (const set of sets) commands.push(initiateCommand(mongo, set, set === mongo.configServers));
  for (const set of sets) {
    commands.push({
      step: `wait for a primary in ${set.replSet}`, kind: 'waitForPrimary', target: memberAddress(initiatingMember(mongo, set)),
      localhostException: true, auth: 'none', db: 'admin', command: { replSetGetStatus: 1 },
    });
  }
  const root = mongo.users.root;
  commands.push({
    step: 'create the root user', kind: 'createRootUser', target: router, localhostException: true, auth: 'none', db: 'admin',
    command: { createUser: root.user, pwd: root.pwd, roles: [{ role: 'root', db: 'admin' }], writeConcern: { w: 'majority' } },
  });
  for (const shard of mongo.shards) {
    commands.push({
      step: `add shard ${shard.replSet}`, kind: 'addShard', target: router, localhostException: false, auth: 'root', db: 'admin',
      command: { addShard: replicaSetAddress(shard), name: shard.replSet },
    });
  }
  commands.push({
    step: `enable sharding on ${mongo.database}`, kind: 'enableSharding', target: router, localhostException: false, auth: 'root', db: 'admin',
    command: { enableSharding: mongo.database },
  });
  for (const [collection, key] of Object.entries(mongo.shardedCollections)) {
    commands.push({
      step: `shard ${mongo.database}.${collection}`, kind: 'shardCollection', target: router, localhostException: false, auth: 'root', db: 'admin',
      command: { shardCollection: `${mongo.database}.${collection}`, key },
    });
  }
  const app = mongo.users.app;
  if (app) {
    commands.push({
      step: 'create the app user', kind: 'createAppUser', target: router, localhostException: false, auth: 'root', db: mongo.database,
      command: {
        createUser: app.user, pwd: app.pwd, roles: [{ role: 'readWrite', db: mongo.database }, { role: 'dbAdmin', db: mongo.database }],
        writeConcern: { w: 'majority' },
      },
    });
  }
  return commands;
}

function initiateCommand(mongo: MongoConfig, set: MongoReplicaSet, isConfig: boolean): PlannedCommand {
  const config: Record<string, unknown> = { _id: set.replSet };
  if (isConfig) config.configsvr = true;
  config.members = set.members.map((m, i) => ({ _id: i, host: memberAddress(m) }));
  return {
    step: isConfig ? `initiate config replica set ${set.replSet}` : `initiate shard replica set ${set.replSet}`,
    kind: 'replSetInitiate', target: memberAddress(initiatingMember(mongo, set)), localhostException: true, auth: 'none', db: 'admin',
    command: { replSetInitiate: config },
  };
}

// ---------------------------------------------------------------------------------------------
// Stop order (start order is its reverse)

function planStopOrder(mongo: MongoConfig): StopStep[] {
  const router = memberAddress(mongo.routers[0]);
  const names = (set: MongoReplicaSet) => set.members.map(memberAddress);
  return [
    // A chunk migration interrupted by a shutdown is rolled back and retried; stopping the
    // balancer first keeps the shutdown clean.
    { step: 'stop the balancer', kind: 'balancerStop', processes: [], target: router, db: 'admin', command: { balancerStop: 1 } },
    { step: 'stop the routers (mongos)', kind: 'shutdownRouters', role: 'mongos', processes: mongo.routers.map(memberAddress), db: 'admin', command: { shutdown: 1 } },
    ...mongo.shards.map((shard): StopStep => ({
      step: `stop shard ${shard.replSet}, secondaries first`, kind: 'shutdownReplicaSet', role: 'shardsvr', replSet: shard.replSet,
      processes: names(shard), secondariesFirst: true,
    })),
    {
      step: `stop config servers ${mongo.configServers.replSet}, secondaries first`, kind: 'shutdownReplicaSet', role: 'configsvr',
      replSet: mongo.configServers.replSet, processes: names(mongo.configServers), secondariesFirst: true,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Printing: passwords never leave the process.

const SECRET_FIELDS = new Set(['pwd', 'password']);

/** A deep copy with every password replaced by `<redacted>`. */
export function redact<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (key, v) => (SECRET_FIELDS.has(key) && typeof v === 'string' ? '<redacted>' : v)));
}

/** A connection string with its password replaced, for printing. */
export function redactUrl(url: string): string {
  return url.replace(/^(mongodb(?:\+srv)?:\/\/[^:/@]+:)[^@]*@/, '$1<redacted>@');
}
