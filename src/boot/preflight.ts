/**
 * Checks made once, in the started process, before any worker is forked: what would otherwise
 * fail inside every worker (and be restarted forever by supervision) fails here with one clear
 * line and exit code 1 — a missing box, an unusable mesh config, a web or mesh port already taken.
 */
import cluster from 'node:cluster';
import net from 'node:net';
import { ConfigError } from '../core/errors.js';
import { findBoxEntry } from '../boxes/box-registry.js';
import type { ClusterConfig, ServerConfig } from '../config/index.js';

export async function preflight(config: ClusterConfig, server: ServerConfig, boxesDirs: string[]): Promise<void> {
  if (cluster.isWorker) return;
  for (const name of config.boxes ?? (config.defaultBox ? [config.defaultBox] : [])) findBoxEntry(boxesDirs, name);
  if (Object.keys(config.servers).length > 1) {
    const [{ validateServerConfig }, { meshOptions }] = await Promise.all([import('../server/options.js'), import('./server-mesh.js')]);
    validateServerConfig(meshOptions(config, server.name));
    await assertPortFree(server.host, config.clusteringPort, `servers.${server.name} (clusteringPort)`);
  }
  await assertPortFree(server.host, server.webPort, `servers.${server.name}.webPort`);
}

function assertPortFree(host: string, port: number, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'is already in use (another boxwire server or program is listening there)'
        : error.code === 'EADDRNOTAVAIL' ? 'is not an address of this machine (check the host, or --server)'
          : `cannot be bound: ${error.message}`;
      reject(new ConfigError(`${key}: ${host}:${port} ${why}`));
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
