/**
 * UNFINISHED: connects boot() to SERVER_CLUSTERING (src/server, issue 3), which has not landed
 * yet. Until it does, only single-server configs can boot.
 */
import { ConfigError } from '../core/errors.js';
import type { ClusterConfig } from './config.js';
import { installMeshFactory } from './boot.js';

installMeshFactory(async () => {
  throw new ConfigError('multi-server configs need SERVER_CLUSTERING (src/server), which this build does not have yet');
});

export async function joinMeshInWorker(_config: ClusterConfig, _serverName: string): Promise<void> {}
