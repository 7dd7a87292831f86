/**
 * Master side of `/__STATUS`: this server's part (workers, links, store sizes) and, gathered
 * over the mesh with a short deadline, every other live server's part.
 */
import { Channel } from '../../core/envelope.js';
import { log } from '../../core/logger.js';
import { currentEndpoint, sharedRegistries } from '../../cpu/index.js';
import { boxStore } from '../../boxes/box-store.js';
import { VERSION } from './health.js';
import { type ClusterStatus, type LocalStatus, type ServerStatus } from './status.js';
import type { MeshView } from './mesh-view.js';
import type { TopologySource } from './topology-source.js';
import { RoleMethods } from '../role-methods.js';

const PEER_STATUS_TIMEOUT_MS = 1500;

export class StatusSource {
  private readonly storeNames = new Set<string>();

  constructor(private readonly topology: TopologySource, private readonly mesh: MeshView) {}

  start(): void {
    const system = sharedRegistries()[Channel.System];
    system.on(RoleMethods.statusStores, (names: unknown) => {
      if (Array.isArray(names)) for (const name of names) if (typeof name === 'string') this.storeNames.add(name);
    });
    system.on(RoleMethods.statusGet, () => this.clusterStatus());
    this.mesh.serveStatus(() => this.localStatus());
  }

  async clusterStatus(): Promise<ClusterStatus> {
    const view = this.topology.snapshot();
    const servers: ServerStatus[] = await Promise.all(view.servers.map(async (server) => {
      let detail: LocalStatus | null = null;
      if (server.self) detail = await this.localStatus();
      else if (server.live) detail = (await this.mesh.requestStatus(server.name, PEER_STATUS_TIMEOUT_MS)) as LocalStatus | null;
      return { ...server, detail };
    }));
    return { at: new Date(view.at).toISOString(), thisServer: view.thisServer, version: VERSION, servers };
  }

  async localStatus(): Promise<LocalStatus> {
    const endpoint = currentEndpoint();
    const stores: Record<string, number> = {};
    for (const name of [...this.storeNames].sort()) {
      try {
        stores[name] = (await boxStore(name).count()) ?? 0;
      } catch (error) {
        log.debug('status.store_count_failed', { store: name, error });
      }
    }
    return {
      workers: {
        count: endpoint.workerCount,
        ready: endpoint.readyWorkerIds(),
        pids: endpoint.workerPids(),
      },
      links: this.mesh.connected(),
      stores,
      uptimeSeconds: Math.round(process.uptime()),
      memoryMB: Math.round(process.memoryUsage().rss / 1048576),
      node: process.version,
    };
  }
}
