/**
 * The `mongo` section: everything `boxwire ops mongo` needs to set up and run a sharded cluster —
 * database, keyfile, folders, the config server replica set, shards (each a replica set), mongos
 * routers, sharded collections and their keys, users — and the application's connection string,
 * built from the routers and the app user unless given.
 */
import { formatHost } from '../core/host.js';
import { isUnsafeKey } from '../core/safe-keys.js';
import { isPlainObject } from '../core/value-kinds.js';
import { checkMongoHosts, checkReplicaSetNames } from './mongo-checks.js';
import { checkUnknownKeys, NAME, readAbsolutePath, readHost, readPort, show, toNumber } from './readers.js';
import { DEFAULT_MONGO_CACHE_SIZE_GB, DEFAULT_MONGO_DATA_DIR, type MongoConfig, type MongoMember, type MongoReplicaSet, type MongoUser, type ShardKey } from './types.js';

const MONGO_KEYS = ['database', 'keyFile', 'dataDir', 'logDir', 'configServers', 'shards', 'routers', 'shardedCollections', 'users', 'url', 'cacheSizeGB'];

export function readMongo(value: unknown, problems: string[]): MongoConfig | undefined {
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
  // The array form's names become keys of the result: '__proto__' there would replace its prototype.
  if (isUnsafeKey(name)) {
    problems.push(`${key}: the collection name '${name}' is refused ('__proto__', 'prototype' and 'constructor' are never valid names)`);
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
  const hosts = mongo.routers.map((r) => formatHost(r.host, r.port)).join(',');
  const user = mongo.users.app;
  const auth = user ? `${encodeURIComponent(user.user)}:${encodeURIComponent(user.pwd)}@` : '';
  const query = user ? `?authSource=${mongo.database}` : '';
  return `mongodb://${auth}${hosts}/${mongo.database}${query}`;
}
