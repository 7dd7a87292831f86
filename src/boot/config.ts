/**
 * The cluster config file: one JSON document that is the single source of truth for the
 * topology (servers and their roles, the clustering port and key, boxes, MongoDB, Redis).
 * `boxwire start`, `boxwire status` and `boxwire ops …` all read it through this module.
 *
 * Loading has three stages so each stays simple:
 *   1. resolve `"env:NAME"` strings from the environment (secrets never live in the file),
 *   2. validate every section, collecting *all* problems as one line each naming the key
 *      (an operator fixes a file in one pass instead of one error per run),
 *   3. return a normalized, typed `ClusterConfig` (defaults filled in, roles expanded).
 *
 * Plain TypeScript rather than a schema library: the rules that matter here (host:port clashes
 * across servers, MongoDB's loopback rule) are cross-field checks a schema cannot express.
 */
import { isUnsafeKey } from '../core/safe-keys.js';
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { ConfigError } from '../core/errors.js';

// ---------------------------------------------------------------------------------------------
// Types

export type Role = 'front-door' | 'api' | 'upload';
export const ROLES: readonly Role[] = ['front-door', 'api', 'upload'];

export interface ServerConfig {
  name: string;
  host: string;
  webPort: number;
  /** Always filled in: a server whose config names no roles holds every role. */
  roles: Role[];
  dataDir?: string;
  workers?: number;
}

export interface MongoMember {
  host: string;
  port: number;
}

export interface MongoReplicaSet {
  replSet: string;
  members: MongoMember[];
}

export interface MongoUser {
  user: string;
  pwd: string;
}

/** A shard key document: each field is ranged (1 / -1) or `'hashed'` (at most one). */
export type ShardKey = Record<string, 1 | -1 | 'hashed'>;

export interface MongoConfig {
  database: string;
  keyFile: string;
  /** Parent of every mongod's `--dbpath`; default `/data/mongo`. */
  dataDir: string;
  /** Where `--logpath` files go; default `<dataDir>/log`. */
  logDir: string;
  configServers: MongoReplicaSet;
  shards: MongoReplicaSet[];
  routers: MongoMember[];
  /** Collection name → shard key; a hashed `_id` unless the config says otherwise. */
  shardedCollections: Record<string, ShardKey>;
  users: { root: MongoUser; app?: MongoUser };
  /** The application's connection string: as given, or built from the routers and the app user. */
  url: string;
  /** `--wiredTigerCacheSizeGB` for each mongod on a host that runs several; default 1. */
  cacheSizeGB: number;
}

/** One Redis server (`url`) or the seed nodes of a Redis Cluster (`cluster`, "host:port" each). */
export type RedisConfig = { url: string; cluster?: undefined } | { cluster: string[]; url?: undefined };

/** Which engine serves SHARED_STORE: the in-memory replicated one (default) or Redis. */
export interface StoreConfig {
  engine: 'memory' | 'redis';
}

export interface ClusterConfig {
  clusteringPort: number;
  clusterKey?: string;
  defaultBox?: string;
  boxes?: string[];
  maxUploadFileMB: number;
  servers: Record<string, ServerConfig>;
  mongo?: MongoConfig;
  redis?: RedisConfig;
  store?: StoreConfig;
}

export interface ParseOptions {
  /** Where `"env:NAME"` values come from; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Named in the error message (the file path when loaded from disk). */
  source?: string;
}

/** The config is invalid; `problems` holds one line per problem, each naming its key. */
export class ConfigValidationError extends ConfigError {
  readonly problems: string[];
  constructor(problems: string[], source = 'cluster config') {
    super(`invalid ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

export const DEFAULT_MAX_UPLOAD_FILE_MB = 100;
export const DEFAULT_MONGO_DATA_DIR = '/data/mongo';
export const DEFAULT_MONGO_CACHE_SIZE_GB = 1;

// ---------------------------------------------------------------------------------------------
// Entry points

export function loadClusterConfig(path: string, options: ParseOptions = {}): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigValidationError([`cannot read ${path}: ${(error as Error).message}`], path);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigValidationError([`${path} is not valid JSON: ${(error as Error).message}`], path);
  }
  return parseClusterConfig(raw, { ...options, source: path });
}

export function parseClusterConfig(raw: unknown, options: ParseOptions = {}): ClusterConfig {
  const source = options.source ?? 'cluster config';
  const problems: string[] = [];
  const resolved = resolveEnv(raw, '', options.env ?? process.env, problems);
  const config = validateRoot(resolved, problems);
  if (problems.length > 0 || !config) throw new ConfigValidationError(problems, source);
  return config;
}

// ---------------------------------------------------------------------------------------------
// Stage 1: environment references

/** Replaces every `"env:NAME"` string (at any depth) by the variable's value. */
function resolveEnv(value: unknown, key: string, env: Record<string, string | undefined>, problems: string[]): unknown {
  if (typeof value === 'string' && value.startsWith('env:')) {
    const name = value.slice(4);
    const found = env[name];
    if (found === undefined || found === '') {
      problems.push(`${key || '(root)'}: environment variable ${name} is not set`);
      return undefined;
    }
    return found;
  }
  if (Array.isArray(value)) return value.map((item, i) => resolveEnv(item, `${key}[${i}]`, env, problems));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // A '__proto__' key from JSON.parse would replace `out`'s prototype; no config key needs these names.
      if (isUnsafeKey(k)) problems.push(`${join(key, k)}: the key '${k}' is refused ('__proto__', 'prototype' and 'constructor' are never valid names)`);
      else out[k] = resolveEnv(v, join(key, k), env, problems);
    }
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Stage 2/3: validation, one small reader per section

const ROOT_KEYS = ['clusteringPort', 'clusterKey', 'defaultBox', 'boxes', 'maxUploadFileMB', 'servers', 'mongo', 'redis', 'store'];
const SERVER_KEYS = ['host', 'webPort', 'roles', 'dataDir', 'workers'];
const MONGO_KEYS = ['database', 'keyFile', 'dataDir', 'logDir', 'configServers', 'shards', 'routers', 'shardedCollections', 'users', 'url', 'cacheSizeGB'];
const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

function validateRoot(raw: unknown, problems: string[]): ClusterConfig | undefined {
  if (!isPlainObject(raw)) {
    problems.push('(root): must be a JSON object');
    return undefined;
  }
  checkUnknownKeys(raw, '', ROOT_KEYS, problems);
  const clusteringPort = readPort(raw.clusteringPort, 'clusteringPort', problems, true);
  const config: ClusterConfig = {
    clusteringPort: clusteringPort ?? 0,
    maxUploadFileMB: readMaxUpload(raw.maxUploadFileMB, problems),
    servers: readServers(raw.servers, clusteringPort, problems),
  };
  const clusterKey = readOptionalString(raw.clusterKey, 'clusterKey', problems);
  if (clusterKey !== undefined) config.clusterKey = clusterKey;
  readBoxes(raw, config, problems);
  if (raw.mongo !== undefined) config.mongo = readMongo(raw.mongo, problems);
  if (raw.redis !== undefined) config.redis = readRedis(raw.redis, problems);
  if (raw.store !== undefined) config.store = readStore(raw.store, config.redis, problems);
  if (config.mongo) checkMongoAgainstServers(config.mongo, config.servers, clusteringPort, problems);
  return config;
}

function readMaxUpload(value: unknown, problems: string[]): number {
  if (value === undefined) return DEFAULT_MAX_UPLOAD_FILE_MB;
  const n = toNumber(value);
  if (n === undefined || !(n > 0)) {
    problems.push(`maxUploadFileMB: must be a positive number of megabytes (got ${show(value)})`);
    return DEFAULT_MAX_UPLOAD_FILE_MB;
  }
  return n;
}

function readBoxes(raw: Record<string, unknown>, config: ClusterConfig, problems: string[]): void {
  if (raw.boxes !== undefined) {
    if (!Array.isArray(raw.boxes)) problems.push('boxes: must be an array of box names');
    else {
      const boxes: string[] = [];
      raw.boxes.forEach((box, i) => {
        if (typeof box !== 'string' || !NAME.test(box)) problems.push(`boxes[${i}]: must be a box name (letters, digits, _ and -, starting with a letter), got ${show(box)}`);
        else if (boxes.includes(box)) problems.push(`boxes[${i}]: '${box}' is listed twice`);
        else boxes.push(box);
      });
      config.boxes = boxes;
    }
  }
  if (raw.defaultBox !== undefined) {
    if (typeof raw.defaultBox !== 'string' || !NAME.test(raw.defaultBox)) problems.push(`defaultBox: must be a box name, got ${show(raw.defaultBox)}`);
    else {
      if (config.boxes && !config.boxes.includes(raw.defaultBox)) problems.push(`defaultBox: '${raw.defaultBox}' is not one of boxes (${config.boxes.join(', ')})`);
      config.defaultBox = raw.defaultBox;
    }
  }
}

function readServers(value: unknown, clusteringPort: number | undefined, problems: string[]): Record<string, ServerConfig> {
  const servers: Record<string, ServerConfig> = {};
  if (!isPlainObject(value) || Object.keys(value).filter((k) => !isCommentKey(k)).length === 0) {
    problems.push('servers: must name at least one server: { "name": { "host": "…", "webPort": 8080 } }');
    return servers;
  }
  for (const [name, entry] of Object.entries(value)) {
    if (isCommentKey(name)) continue;
    const server = readServer(name, entry, problems);
    if (server) servers[name] = server;
  }
  checkServerClashes(Object.values(servers), clusteringPort, problems);
  return servers;
}

function readServer(name: string, value: unknown, problems: string[]): ServerConfig | undefined {
  const key = `servers.${name}`;
  if (!NAME.test(name)) problems.push(`${key}: server names use letters, digits, _ and -, starting with a letter`);
  if (!isPlainObject(value)) {
    problems.push(`${key}: must be an object with host and webPort`);
    return undefined;
  }
  checkUnknownKeys(value, key, SERVER_KEYS, problems);
  const host = readHost(value.host, `${key}.host`, problems);
  const webPort = readPort(value.webPort, `${key}.webPort`, problems, true);
  const server: ServerConfig = { name, host: host ?? '', webPort: webPort ?? 0, roles: readRoles(value.roles, `${key}.roles`, problems) };
  const dataDir = readOptionalString(value.dataDir, `${key}.dataDir`, problems);
  if (dataDir !== undefined) server.dataDir = dataDir;
  if (value.workers !== undefined) {
    const workers = toNumber(value.workers);
    if (workers === undefined || !Number.isInteger(workers) || workers < 0) problems.push(`${key}.workers: must be a whole number ≥ 0 (0 runs the work in the started process), got ${show(value.workers)}`);
    else server.workers = workers;
  }
  return host !== undefined && webPort !== undefined ? server : undefined;
}

function readRoles(value: unknown, key: string, problems: string[]): Role[] {
  if (value === undefined) return [...ROLES];
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`${key}: must be a non-empty array of ${ROLES.map((r) => `'${r}'`).join(', ')} (leave it out to hold every role)`);
    return [...ROLES];
  }
  const roles: Role[] = [];
  value.forEach((role, i) => {
    if (!ROLES.includes(role as Role)) problems.push(`${key}[${i}]: unknown role ${show(role)} (one of ${ROLES.join(', ')})`);
    else if (roles.includes(role as Role)) problems.push(`${key}[${i}]: '${role}' is listed twice`);
    else roles.push(role as Role);
  });
  return roles;
}

/** Every server binds webPort and the shared clusteringPort on its host: no two may collide. */
function checkServerClashes(servers: ServerConfig[], clusteringPort: number | undefined, problems: string[]): void {
  const taken = new Map<string, string>();
  const claim = (host: string, port: number, what: string) => {
    const id = `${canonicalHost(host)}:${port}`;
    const owner = taken.get(id);
    if (owner) problems.push(`${what}: ${host}:${port} is already used by ${owner}`);
    else taken.set(id, what);
  };
  for (const server of servers) {
    claim(server.host, server.webPort, `servers.${server.name}.webPort`);
    if (clusteringPort !== undefined) claim(server.host, clusteringPort, `servers.${server.name} (clusteringPort)`);
  }
}

function readRedis(value: unknown, problems: string[]): RedisConfig | undefined {
  if (!isPlainObject(value)) {
    problems.push('redis: must be an object { "url": "redis://host:6379" } or { "cluster": ["host:port", …] }');
    return undefined;
  }
  checkUnknownKeys(value, 'redis', ['url', 'cluster'], problems);
  if (value.url !== undefined && value.cluster !== undefined) {
    problems.push('redis: give either url or cluster, not both');
    return undefined;
  }
  if (value.cluster !== undefined) {
    const nodes = value.cluster;
    if (!Array.isArray(nodes) || nodes.length === 0 || nodes.some((n) => typeof n !== 'string' || !/^\[?[^\]\s]+?\]?:\d{1,5}$/.test(n))) {
      problems.push(`redis.cluster: must be a non-empty array of "host:port" strings, got ${show(nodes)}`);
      return undefined;
    }
    return { cluster: nodes as string[] };
  }
  if (typeof value.url !== 'string' || !/^rediss?:\/\//.test(value.url)) {
    problems.push(`redis.url: must be a redis:// or rediss:// URL, got ${show(value.url)}`);
    return undefined;
  }
  return { url: value.url };
}

function readStore(value: unknown, redis: RedisConfig | undefined, problems: string[]): StoreConfig | undefined {
  if (!isPlainObject(value)) {
    problems.push('store: must be an object { "engine": "memory" | "redis" }');
    return undefined;
  }
  checkUnknownKeys(value, 'store', ['engine'], problems);
  if (value.engine !== 'memory' && value.engine !== 'redis') {
    problems.push(`store.engine: must be "memory" or "redis", got ${show(value.engine)}`);
    return undefined;
  }
  if (value.engine === 'redis' && !redis) problems.push('store.engine: "redis" needs the "redis" section ({ "url": "redis://host:6379" })');
  return { engine: value.engine };
}

// ---------------------------------------------------------------------------------------------
// The mongo section

function readMongo(value: unknown, problems: string[]): MongoConfig | undefined {
  if (!isPlainObject(value)) {
    problems.push('mongo: must be an object (see docs/config.md, "mongo")');
    return undefined;
  }
  const before = problems.length;
  checkUnknownKeys(value, 'mongo', MONGO_KEYS, problems);
  const database = readDatabaseName(value.database, problems);
  const keyFile = readAbsolutePath(value.keyFile, 'mongo.keyFile', problems, 'the shared keyfile every mongod and mongos uses (create it with `boxwire ops mongo keyfile`)');
  const dataDir = value.dataDir === undefined ? DEFAULT_MONGO_DATA_DIR : readAbsolutePath(value.dataDir, 'mongo.dataDir', problems, 'the parent folder of every --dbpath');
  const logDir = value.logDir === undefined ? `${dataDir ?? DEFAULT_MONGO_DATA_DIR}/log` : readAbsolutePath(value.logDir, 'mongo.logDir', problems, 'where --logpath files go');
  const configServers = readReplicaSet(value.configServers, 'mongo.configServers', problems);
  const shards = readShards(value.shards, problems);
  const routers = readMembers(value.routers, 'mongo.routers', problems, 'at least one mongos: [{ "host": "…", "port": 27017 }]');
  const shardedCollections = readShardedCollections(value.shardedCollections, problems);
  const users = readUsers(value.users, problems);
  const cacheSizeGB = readCacheSize(value.cacheSizeGB, problems);
  if (configServers && shards) checkReplicaSetNames(configServers, shards, problems);
  checkMongoHosts(configServers, shards ?? [], routers ?? [], problems);
  if (problems.length > before || !database || !keyFile || !dataDir || !logDir || !configServers || !shards || !routers || !users) return undefined;
  const mongo: MongoConfig = { database, keyFile, dataDir, logDir, configServers, shards, routers, shardedCollections, users, url: '', cacheSizeGB };
  mongo.url = readMongoUrl(value.url, mongo, problems);
  return mongo;
}

function readDatabaseName(value: unknown, problems: string[]): string | undefined {
  // MongoDB's own rules for database names on Unix, plus the reserved names.
  if (typeof value !== 'string' || value === '' || /[/\\. "$*<>:|?]/.test(value) || value.length > 63) {
    problems.push(`mongo.database: must be a MongoDB database name (no /\\. "$*<>:|?, at most 63 characters), got ${show(value)}`);
    return undefined;
  }
  if (['admin', 'local', 'config'].includes(value)) {
    problems.push(`mongo.database: '${value}' is reserved by MongoDB; name the application's database`);
    return undefined;
  }
  return value;
}

function readReplicaSet(value: unknown, key: string, problems: string[]): MongoReplicaSet | undefined {
  if (!isPlainObject(value)) {
    problems.push(`${key}: must be { "replSet": "name", "members": [{ "host": "…", "port": … }] }`);
    return undefined;
  }
  checkUnknownKeys(value, key, ['replSet', 'members'], problems);
  const replSet = value.replSet;
  if (typeof replSet !== 'string' || !NAME.test(replSet)) problems.push(`${key}.replSet: must be a replica set name (letters, digits, _ and -), got ${show(replSet)}`);
  const label = typeof replSet === 'string' ? `${key} (${replSet})` : key;
  const members = readMembers(value.members, `${key}.members`, problems, `${label} has no members; a replica set needs at least one mongod`);
  return typeof replSet === 'string' && NAME.test(replSet) && members ? { replSet, members } : undefined;
}

function readShards(value: unknown, problems: string[]): MongoReplicaSet[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push('mongo.shards: must list at least one shard replica set: [{ "replSet": "sh1", "members": [...] }]');
    return undefined;
  }
  // The valid ones are returned even when some are not, so the cross-checks (loopback mixing,
  // clashes) still see them; the problems already recorded make the section fail.
  return value.map((shard, i) => readReplicaSet(shard, `mongo.shards[${i}]`, problems)).filter((s): s is MongoReplicaSet => s !== undefined);
}

function readMembers(value: unknown, key: string, problems: string[], emptyMessage: string): MongoMember[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`${key}: ${emptyMessage}`);
    return undefined;
  }
  const members: MongoMember[] = [];
  value.forEach((member, i) => {
    const at = `${key}[${i}]`;
    if (!isPlainObject(member)) {
      problems.push(`${at}: must be { "host": "…", "port": … }`);
      return;
    }
    checkUnknownKeys(member, at, ['host', 'port'], problems);
    const host = readHost(member.host, `${at}.host`, problems);
    const port = readPort(member.port, `${at}.port`, problems, true);
    if (host !== undefined && port !== undefined) members.push({ host, port });
  });
  return members.length === value.length ? members : undefined;
}

function checkReplicaSetNames(configServers: MongoReplicaSet, shards: MongoReplicaSet[], problems: string[]): void {
  const seen = new Map<string, string>([[configServers.replSet, 'mongo.configServers.replSet']]);
  shards.forEach((shard, i) => {
    const key = `mongo.shards[${i}].replSet`;
    const other = seen.get(shard.replSet);
    if (other) problems.push(`${key}: '${shard.replSet}' is already the name of ${other}; every replica set needs its own name`);
    else seen.set(shard.replSet, key);
  });
}

/**
 * Two MongoDB rules checked before anything starts: no two processes on one host:port, and no
 * mixing of loopback names with other hosts (mongod rejects a replica set config, and addShard
 * rejects a shard, that mixes `localhost`/127.0.0.1 with real addresses).
 */
function checkMongoHosts(configServers: MongoReplicaSet | undefined, shards: MongoReplicaSet[], routers: MongoMember[], problems: string[]): void {
  const endpoints: Array<{ key: string; member: MongoMember }> = [];
  configServers?.members.forEach((member, i) => endpoints.push({ key: `mongo.configServers.members[${i}]`, member }));
  shards.forEach((shard, s) => shard.members.forEach((member, i) => endpoints.push({ key: `mongo.shards[${s}].members[${i}]`, member })));
  routers.forEach((member, i) => endpoints.push({ key: `mongo.routers[${i}]`, member }));
  const taken = new Map<string, string>();
  for (const { key, member } of endpoints) {
    const id = `${canonicalHost(member.host)}:${member.port}`;
    const owner = taken.get(id);
    if (owner) problems.push(`${key}: ${member.host}:${member.port} is already used by ${owner}`);
    else taken.set(id, key);
  }
  const loopback = endpoints.filter((e) => isLoopbackHost(e.member.host));
  const other = endpoints.filter((e) => !isLoopbackHost(e.member.host));
  if (loopback.length > 0 && other.length > 0) {
    problems.push(`mongo: ${loopback[0].key} uses loopback host '${loopback[0].member.host}' while ${other[0].key} uses '${other[0].member.host}'; MongoDB refuses to mix localhost/127.0.0.1 with other hosts — use the machine's address everywhere`);
  }
}

/** The mongo processes must not take a port a boxwire server on the same host already binds. */
function checkMongoAgainstServers(mongo: MongoConfig, servers: Record<string, ServerConfig>, clusteringPort: number | undefined, problems: string[]): void {
  const taken = new Map<string, string>();
  for (const server of Object.values(servers)) {
    taken.set(`${canonicalHost(server.host)}:${server.webPort}`, `servers.${server.name}.webPort`);
    if (clusteringPort !== undefined) taken.set(`${canonicalHost(server.host)}:${clusteringPort}`, `clusteringPort of servers.${server.name}`);
  }
  for (const { key, member } of mongoEndpoints(mongo)) {
    const owner = taken.get(`${canonicalHost(member.host)}:${member.port}`);
    if (owner) problems.push(`${key}: ${member.host}:${member.port} is already used by ${owner}`);
  }
}

function mongoEndpoints(mongo: MongoConfig): Array<{ key: string; member: MongoMember }> {
  return [
    ...mongo.configServers.members.map((member, i) => ({ key: `mongo.configServers.members[${i}]`, member })),
    ...mongo.shards.flatMap((shard, s) => shard.members.map((member, i) => ({ key: `mongo.shards[${s}].members[${i}]`, member }))),
    ...mongo.routers.map((member, i) => ({ key: `mongo.routers[${i}]`, member })),
  ];
}

function readShardedCollections(value: unknown, problems: string[]): Record<string, ShardKey> {
  const out: Record<string, ShardKey> = {};
  if (value === undefined) return out;
  // Array form: names only, each sharded on a hashed _id (a ranged key on ObjectIds sends every
  // insert to the shard holding the highest chunk).
  if (Array.isArray(value)) {
    value.forEach((name, i) => {
      if (checkCollectionName(name, `mongo.shardedCollections[${i}]`, problems)) out[name as string] = { _id: 'hashed' };
    });
    return out;
  }
  if (!isPlainObject(value)) {
    problems.push('mongo.shardedCollections: must be { "collection": { "_id": "hashed" } } or an array of collection names');
    return out;
  }
  for (const [name, key] of Object.entries(value)) {
    const at = `mongo.shardedCollections.${name}`;
    if (!checkCollectionName(name, at, problems)) continue;
    const shardKey = readShardKey(key, at, problems);
    if (shardKey) out[name] = shardKey;
  }
  return out;
}

function checkCollectionName(name: unknown, key: string, problems: string[]): boolean {
  if (typeof name !== 'string' || name === '' || name.includes('$') || name.startsWith('system.')) {
    problems.push(`${key}: must be a collection name (no '$', not 'system.*'), got ${show(name)}`);
    return false;
  }
  return true;
}

function readShardKey(value: unknown, key: string, problems: string[]): ShardKey | undefined {
  if (value === true) return { _id: 'hashed' };
  if (!isPlainObject(value) || Object.keys(value).length === 0) {
    problems.push(`${key}: must be a shard key like { "_id": "hashed" } (or true for that default)`);
    return undefined;
  }
  const fields = Object.entries(value);
  const bad = fields.filter(([, v]) => v !== 1 && v !== -1 && v !== 'hashed');
  for (const [field, v] of bad) problems.push(`${key}.${field}: a shard key field is 1, -1 or "hashed", got ${show(v)}`);
  if (fields.filter(([, v]) => v === 'hashed').length > 1) problems.push(`${key}: MongoDB allows at most one hashed field in a shard key`);
  return bad.length === 0 ? (value as ShardKey) : undefined;
}

function readUsers(value: unknown, problems: string[]): { root: MongoUser; app?: MongoUser } | undefined {
  if (!isPlainObject(value)) {
    problems.push('mongo.users: must be { "root": { "user": "env:…", "pwd": "env:…" }, "app": { … } }');
    return undefined;
  }
  checkUnknownKeys(value, 'mongo.users', ['root', 'app'], problems);
  const root = readUser(value.root, 'mongo.users.root', problems);
  const app = value.app === undefined ? undefined : readUser(value.app, 'mongo.users.app', problems);
  if (root && app && root.user === app.user) problems.push(`mongo.users.app.user: must differ from the root user ('${root.user}')`);
  if (!root) return undefined;
  return app ? { root, app } : { root };
}

function readUser(value: unknown, key: string, problems: string[]): MongoUser | undefined {
  if (!isPlainObject(value)) {
    problems.push(`${key}: must be { "user": "…", "pwd": "…" } (use "env:NAME" to keep secrets out of the file)`);
    return undefined;
  }
  checkUnknownKeys(value, key, ['user', 'pwd'], problems);
  let ok = true;
  for (const field of ['user', 'pwd'] as const) {
    // A missing env var was already reported by stage 1; don't report it twice.
    if (value[field] === undefined && Object.prototype.hasOwnProperty.call(value, field)) { ok = false; continue; }
    if (typeof value[field] !== 'string' || value[field] === '') {
      problems.push(`${key}.${field}: must be a non-empty string`);
      ok = false;
    }
  }
  return ok ? { user: value.user as string, pwd: value.pwd as string } : undefined;
}

function readCacheSize(value: unknown, problems: string[]): number {
  if (value === undefined) return DEFAULT_MONGO_CACHE_SIZE_GB;
  const n = toNumber(value);
  if (n === undefined || n < 0.25) {
    problems.push(`mongo.cacheSizeGB: must be a number ≥ 0.25 (WiredTiger's minimum), got ${show(value)}`);
    return DEFAULT_MONGO_CACHE_SIZE_GB;
  }
  return n;
}

function readMongoUrl(value: unknown, mongo: MongoConfig, problems: string[]): string {
  if (value !== undefined) {
    if (typeof value !== 'string' || !/^mongodb(\+srv)?:\/\//.test(value)) {
      problems.push(`mongo.url: must be a mongodb:// or mongodb+srv:// connection string, got ${show(value)}`);
      return '';
    }
    return value;
  }
  // Built from the routers: the application always talks to mongos, never to a shard.
  const hosts = mongo.routers.map((r) => `${formatHost(r.host)}:${r.port}`).join(',');
  const user = mongo.users.app;
  const auth = user ? `${encodeURIComponent(user.user)}:${encodeURIComponent(user.pwd)}@` : '';
  const query = user ? `?authSource=${mongo.database}` : '';
  return `mongodb://${auth}${hosts}/${mongo.database}${query}`;
}

// ---------------------------------------------------------------------------------------------
// Small readers and helpers (exported where ops needs the same rule)

function readPort(value: unknown, key: string, problems: string[], required: boolean): number | undefined {
  if (value === undefined) {
    if (required) problems.push(`${key}: missing (a TCP port, 1–65535)`);
    return undefined;
  }
  const n = toNumber(value);
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > 65535) {
    problems.push(`${key}: must be a TCP port, 1–65535, got ${show(value)}`);
    return undefined;
  }
  return n;
}

function readHost(value: unknown, key: string, problems: string[]): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    problems.push(`${key}: must be a host name or IP address, got ${show(value)}`);
    return undefined;
  }
  // IPv6 literals contain ':'; anything else with ':' or '/' is a URL or host:port by mistake.
  const ipv6 = value.split(':').length > 2 && /^\[?[0-9a-fA-F:.]+\]?$/.test(value);
  if (/[/\s]/.test(value) || (value.includes(':') && !ipv6)) {
    problems.push(`${key}: must be a bare host name or IP address (the port has its own key), got ${show(value)}`);
    return undefined;
  }
  return value;
}

function readOptionalString(value: unknown, key: string, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    problems.push(`${key}: must be a non-empty string, got ${show(value)}`);
    return undefined;
  }
  return value;
}

function readAbsolutePath(value: unknown, key: string, problems: string[], what: string): string | undefined {
  if (value === undefined) {
    problems.push(`${key}: missing — ${what}`);
    return undefined;
  }
  if (typeof value !== 'string' || !isAbsolute(value)) {
    problems.push(`${key}: must be an absolute path (${what}), got ${show(value)}`);
    return undefined;
  }
  return value;
}

function checkUnknownKeys(value: Record<string, unknown>, key: string, known: string[], problems: string[]): void {
  for (const k of Object.keys(value)) {
    if (!known.includes(k) && !isCommentKey(k)) problems.push(`${join(key, k)}: unknown key (known: ${known.join(', ')})`);
  }
}

/** `$schema`, `//…` and `_comment…` keys are allowed anywhere so files can carry notes. */
function isCommentKey(key: string): boolean {
  return key.startsWith('$') || key.startsWith('//') || key.startsWith('_comment');
}

/** Numbers, or decimal strings (what an `"env:PORT"` reference resolves to). */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** `localhost` and 127.0.0.1 name the same socket address for clash detection. */
function canonicalHost(host: string): string {
  const h = host.toLowerCase();
  return h === 'localhost' ? '127.0.0.1' : h;
}

/** Brackets IPv6 literals for use in host:port strings and URLs. */
export function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(key: string, child: string): string {
  return key ? `${key}.${child}` : child;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
