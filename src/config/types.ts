/**
 * The cluster config's shape once loaded: what `loadClusterConfig` returns, normalized (defaults
 * filled in, roles expanded), and what roles/, ops/ and boot/ read.
 */
import type { EdgeConfig } from './edge.js';

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

export interface ClusterConfig extends EdgeConfig {
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
  /**
   * Read only these top-level keys; the others are dropped unread (their `"env:…"` references
   * need not be set). `boxwire ops lb` reads the servers without the cluster key or MongoDB secrets.
   * Without `clusteringPort` in the list it is not required.
   */
  only?: readonly string[];
}

export const DEFAULT_MAX_UPLOAD_FILE_MB = 100;
export const DEFAULT_MONGO_DATA_DIR = '/data/mongo';
export const DEFAULT_MONGO_CACHE_SIZE_GB = 1;
