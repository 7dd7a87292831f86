/**
 * The live cluster view behind `/__STATUS` and the `/__CLUSTER` page. A server's master builds
 * its own part (workers, links, store sizes) and, on the front door, gathers the others' parts
 * over the mesh; workers ask their master.
 */
import { Channel, MASTER } from '../../core/envelope.js';
import { currentEndpoint } from '../../cpu/index.js';
import type { ServerView } from './topology.js';
import { RoleMethods } from '../role-methods.js';

export interface LocalStatus {
  workers: { count: number; ready: number[]; pids: Record<string, number | undefined> };
  /** Servers this one has a live link to. */
  links: string[];
  /** Store name → number of documents in this server's replica. */
  stores: Record<string, number>;
  uptimeSeconds: number;
  memoryMB: number;
  node: string;
}

export interface ServerStatus extends ServerView {
  /** This server's own report, or null when it is down or did not answer in time. */
  detail: LocalStatus | null;
}

export interface ClusterStatus {
  at: string;
  thisServer: string;
  version: string;
  servers: ServerStatus[];
}


export function requestClusterStatus(timeoutMs = 5_000): Promise<ClusterStatus> {
  return currentEndpoint().request<ClusterStatus>({ worker: MASTER }, Channel.System, RoleMethods.statusGet, null, timeoutMs);
}

/** Tells the master which stores exist, so it can report their sizes. */
export function announceStores(names: string[]): void {
  currentEndpoint().message({ worker: MASTER }, Channel.System, RoleMethods.statusStores, names);
}
