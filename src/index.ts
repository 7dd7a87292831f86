export * from './core/index.js';
export { CPU_CLUSTERING, onShutdown, resolveWorkerCount, type CpuClusteringOptions, type ReplyCallback, type SendParams } from './cpu/index.js';
export { SERVER_CLUSTERING, type ServerClusteringConfig, type ServerSendParams } from './server/server-clustering.js';
export { DISTRIBUTE_PROCESS, type DistributeParams } from './server/distribute-process.js';
export { boot, type BootOptions } from './boot/boot.js';
export { loadClusterConfig, parseClusterConfig, ConfigValidationError, type ClusterConfig, type ServerConfig, type Role } from './config/index.js';
export * from './boxes/index.js';
export * from './store/index.js';
export * from './coord/index.js';
