/**
 * Objects whose state /__METRICS reports, registered by their owners when they are created, so
 * the metrics code loads no part of the runtime a process does not use (a single server never
 * loads the mesh). Each is set in the process that owns it: the mesh and the store replica in a
 * server's master (or a process without CPU clustering).
 */
import type { Mesh } from '../server/mesh.js';
import type { ReplicaHost } from '../store/replication/replica-host.js';

export const metricSources: {
  mesh?: Mesh;
  replica?: ReplicaHost;
  /** WebSocket clients of the API role in this process. */
  websocketClients?: () => number;
} = {};
