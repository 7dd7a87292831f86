/**
 * What SERVER_CLUSTERING knows in this process: nothing yet, "I own the links" (a master or a
 * solo process: the mesh), or "I am a worker" (my master owns them); and which servers are
 * connected, as this process last heard.
 */
import { Membership } from './membership.js';
import type { Mesh } from './mesh.js';
import type { NormalizedServerConfig } from './options.js';

export interface OwnerState {
  kind: 'owner';
  config: NormalizedServerConfig;
  mesh: Mesh;
  /** Set once the port is open and dialing began. */
  networking?: Promise<void>;
  /** Resolves once the links are opening and the subsystems caught up (see `connect`). */
  connected?: Promise<void>;
  started: Promise<void>;
}

export interface WorkerState {
  kind: 'worker';
  config: NormalizedServerConfig;
  started: Promise<void>;
}

let state: OwnerState | WorkerState | undefined;

export function clusteringState(): OwnerState | WorkerState | undefined {
  return state;
}

export function setClusteringState(next: OwnerState | WorkerState): void {
  state = next;
}

/** Which other servers are connected: kept by the mesh in the owner, by its notices in workers. */
export const membership = new Membership();
