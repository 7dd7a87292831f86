/**
 * src/config — the cluster config file (JSON, validated with every problem on its own line) and
 * what boxwire knows about its own package. Depends on core/ only; roles/, boot/ and ops/ read
 * the config through here.
 */
export { loadClusterConfig, parseClusterConfig } from './load.js';
export { ConfigValidationError } from './validation-error.js';
export {
  ROLES, DEFAULT_MAX_UPLOAD_FILE_MB, DEFAULT_MONGO_CACHE_SIZE_GB, DEFAULT_MONGO_DATA_DIR,
  type ClusterConfig, type MongoConfig, type MongoMember, type MongoReplicaSet, type MongoUser, type ParseOptions,
  type RedisConfig, type Role, type ServerConfig, type ShardKey, type StoreConfig,
} from './types.js';
export { proxyMatcher, type EdgeConfig } from './edge.js';
export { packageInfo, type PackageInfo } from './package-info.js';
