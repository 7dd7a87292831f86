export { CPU_CLUSTERING, type CpuClusteringOptions, type ReplyCallback, type SendParams } from './cpu-clustering.js';
export { onShutdown } from './shutdown-hooks.js';
export { resolveWorkerCount } from './worker-count.js';
