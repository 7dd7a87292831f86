export { SERVER_CLUSTERING, serverMesh, onServerMesh, type ServerClusteringConfig, type ServerSendParams, type ServerMeshView } from './server-clustering.js';
export type { ServerLoad } from './load.js';
