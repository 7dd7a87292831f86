/**
 * The view of the mesh that boxwire's own subsystems (store, roles, DISTRIBUTE_PROCESS) use, in the
 * process that owns the links.
 */
import { setServerDescriber } from '../core/startup-watch.js';
import { clusteringState, membership, type OwnerState } from './clustering-state.js';
import { reportLoad, sampleLoad, type ServerLoad } from './load.js';
import type { ServerListener } from './membership.js';

const meshListeners = new Set<(view: ServerMeshView) => void>();

/**
 * What the store, the roles and DISTRIBUTE_PROCESS use, in the process that owns the links (a
 * master, or a solo process). To message another server's master, use the endpoint directly:
 * `currentEndpoint().message({ server, worker: MASTER }, Channel.System, method, data)` (or
 * `.request(…)`); its pending requests reject with PeerDownError when that server goes down.
 */
export interface ServerMeshView {
  readonly thisServerName: string;
  /** Every server in hosts, this one included, sorted. */
  serverNames(): string[];
  /** Servers with a live link now, sorted (not this one). */
  connectedServerNames(): string[];
  onServerUp(listener: ServerListener): () => void;
  onServerDown(listener: ServerListener): () => void;
  /** `{ server: ms }`, positive when that server's clock is ahead. */
  clockOffsets(): Record<string, number>;
  /** The load figure a connected server (or this one) reported last; undefined when unknown. */
  loadOf(server: string): ServerLoad | undefined;
  /** Random id of a server's current process; changes when it restarts. */
  instanceOf(server: string): string | undefined;
  /**
   * True once this server has had its chance to link to every other one: all are connected, or
   * the links have been trying for the failure-detection window. Before that, "not connected"
   * may just mean "not linked yet" — decisions that assume a peer is down should wait.
   */
  settled(): boolean;
  /**
   * True once this server opened its port and started linking (before `work()`). Before that no
   * peer can be reached, so nothing should wait for one (the store's catch-up does not).
   */
  opened(): boolean;
  /** Publishes figures of this server's load (e.g. `{ connections: 12 }`) on the next heartbeats. */
  reportLoad(figures: Record<string, number>): void;
}

// The start-up warning says when a request waits on a server that is not connected.
setServerDescriber((server) => {
  const state = clusteringState();
  return state && server !== state.config.thisServerName && !membership.connectedNames().includes(server) ? 'not connected' : undefined;
});

/** This process now owns the links: whoever waits for its mesh gets it. */
export function announceMesh(owner: OwnerState): void {
  const view = meshView(owner);
  for (const listener of [...meshListeners]) listener(view);
}

function meshView(owner: OwnerState): ServerMeshView {
  const { mesh, config } = owner;
  return {
    thisServerName: config.thisServerName,
    serverNames: () => [...config.hosts.keys()].sort(),
    connectedServerNames: () => membership.connectedNames(),
    onServerUp: (listener) => membership.onUp(listener),
    onServerDown: (listener) => membership.onDown(listener),
    clockOffsets: () => mesh.clockOffsets(),
    loadOf: (server) => (server === config.thisServerName ? sampleLoad() : mesh.loadOf(server)),
    instanceOf: (server) => mesh.instanceOf(server),
    opened: () => mesh.startedAt !== undefined,
    settled: () => mesh.startedAt !== undefined && (membership.connectedNames().length === config.hosts.size - 1 || Date.now() - mesh.startedAt >= config.deadAfterMs),
    reportLoad,
  };
}

/** The mesh of this process, or undefined when it owns no links (not configured, or a worker). */
export function serverMesh(): ServerMeshView | undefined {
  const state = clusteringState();
  return state?.kind === 'owner' ? meshView(state) : undefined;
}

/** Calls `listener` when this process gets its mesh (at once if it has one). Returns an unsubscribe function. */
export function onServerMesh(listener: (view: ServerMeshView) => void): () => void {
  meshListeners.add(listener);
  const state = clusteringState();
  if (state?.kind === 'owner') listener(meshView(state));
  return () => void meshListeners.delete(listener);
}
