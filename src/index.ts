export * from './core/index.js';
export * from './cpu/index.js';
export { SERVER_CLUSTERING, type ServerClusteringConfig, type ServerSendParams } from './server/server-clustering.js';
