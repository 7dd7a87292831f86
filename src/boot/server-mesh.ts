/**
 * boot()'s use of SERVER_CLUSTERING. Workers call `SERVER_CLUSTERING(options, work)` inside
 * CPU_CLUSTERING, so the master owns the links and opens the clustering port only once every
 * worker's roles are set up; room pushes travel as SERVER_CLUSTERING broadcasts. The master
 * reads live servers, load and clock offsets from the mesh view for the topology and status.
 */
import { Channel, MASTER } from '../core/envelope.js';
import { log } from '../core/logger.js';
import { currentEndpoint, sharedRegistries } from '../cpu/index.js';
import { SERVER_CLUSTERING, onServerMesh, type ServerClusteringConfig, type ServerLoad, type ServerMeshView } from '../server/index.js';
import { installServerBus } from '../server/cluster-bus.js';
import { liveServersWithRole } from '../roles/cluster/topology.js';
import type { ClusterConfig } from '../config/index.js';
import type { MeshView } from '../roles/cluster/mesh-view.js';
import { RoleMethods } from '../roles/role-methods.js';


export function meshOptions(config: ClusterConfig, serverName: string): ServerClusteringConfig {
  const hosts = Object.fromEntries(Object.values(config.servers).map((s) => [s.name, s.host]));
  return { hosts, thisServerName: serverName, port: config.clusteringPort, ...(config.clusterKey ? { clusterKey: config.clusterKey } : {}) };
}

/** One number per server, lower is less busy: machine load per core, the link owner's busy share, clients. */
export function loadScore(load: ServerLoad | undefined): number | null {
  if (!load) return null;
  return Math.round(((load.cpu ?? 0) + (load.elu ?? 0) + (load.connections ?? 0) / 1000) * 1000) / 1000;
}

/** The master's view; empty until the mesh exists (it is created when the first worker joins). */
export function masterMeshView(): MeshView {
  let view: ServerMeshView | undefined;
  const changeListeners: Array<() => void> = [];
  onServerMesh((next) => {
    view = next;
    next.onServerUp(() => changeListeners.forEach((l) => l()));
    next.onServerDown(() => changeListeners.forEach((l) => l()));
    changeListeners.forEach((l) => l());
  });
  return {
    connected: () => view?.connectedServerNames() ?? [],
    load: (name) => loadScore(view?.loadOf(name)),
    clockOffsetMs: (name) => {
      const offset = view?.clockOffsets()[name];
      return offset === undefined ? null : Math.round(offset);
    },
    onChange: (listener) => void changeListeners.push(listener),
    requestStatus: (serverName, timeoutMs) =>
      currentEndpoint().request({ server: serverName, worker: MASTER }, Channel.System, RoleMethods.statusLocal, null, timeoutMs).catch((error) => {
        log.debug('status.peer_failed', { server: serverName, error });
        return null;
      }),
    serveStatus: (handler) => sharedRegistries()[Channel.System].on(RoleMethods.statusLocal, () => handler()),
    reportConnections: (count) => view?.reportLoad({ connections: count }),
  };
}

/** Runs the worker's set-up inside SERVER_CLUSTERING and routes room pushes over the mesh. */
export async function runInMesh(config: ClusterConfig, serverName: string, work: () => Promise<void>): Promise<void> {
  installServerBus({
    // Room members are only on API servers, and a push is only worth delivering now: send to the
    // live API servers rather than broadcasting (a broadcast also queues for servers that are down).
    publish(method, data) {
      for (const server of liveServersWithRole('api')) {
        if (server.self) continue;
        try {
          SERVER_CLUSTERING.send({ serverName: server.name, methodName: method, data });
        } catch (error) {
          log.warn('room.publish_failed', { method, server: server.name, error });
        }
      }
    },
    subscribe(method, handler) {
      SERVER_CLUSTERING.on(method, (data: unknown) => void handler(data));
    },
  });
  await SERVER_CLUSTERING(meshOptions(config, serverName), work);
}
