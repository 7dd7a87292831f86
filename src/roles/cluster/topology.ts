/**
 * What every worker knows about the cluster: each configured server, whether it is live, its
 * load and clock offset. The master (which owns the server links) builds this view and pushes it
 * to its workers whenever it changes and once a second for load; workers answer discovery
 * requests from their copy without a round trip per HTTP request.
 */
import type { Role } from '../../config/index.js';
import { formatHost } from '../../core/host.js';
import type { ServerState } from '../../cpu/index.js';

export interface ServerView {
  name: string;
  host: string;
  webPort: number;
  roles: Role[];
  /** This server itself, or a server whose link is up. */
  live: boolean;
  /** Load figure (lower is better); the peer's heartbeat value, or ours for this server. */
  load: number | null;
  self: boolean;
  /** Peer clock minus ours in ms, as measured by the mesh (null when unknown). */
  clockOffsetMs: number | null;
}

export interface TopologySnapshot {
  /** When the master built this view (ms since epoch). */
  at: number;
  thisServer: string;
  servers: ServerView[];
  /** This server's lifecycle state (readiness for load balancers). */
  serverState?: ServerState;
}

let current: TopologySnapshot | undefined;
const listeners = new Set<(snapshot: TopologySnapshot) => void>();


export function setTopology(snapshot: TopologySnapshot): void {
  current = snapshot;
  for (const listener of listeners) listener(snapshot);
}

export function topology(): TopologySnapshot | undefined {
  return current;
}

export function onTopology(listener: (snapshot: TopologySnapshot) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Live servers holding `role`, least loaded first (unknown load last), name as tie-break. */
export function liveServersWithRole(role: Role, snapshot = current): ServerView[] {
  if (!snapshot) return [];
  const loadOf = (s: ServerView) => (s.load === null ? Number.POSITIVE_INFINITY : s.load);
  return snapshot.servers
    .filter((s) => s.live && s.roles.includes(role))
    .sort((a, b) => loadOf(a) - loadOf(b) || a.name.localeCompare(b.name));
}

export function serverByName(name: string, snapshot = current): ServerView | undefined {
  return snapshot?.servers.find((s) => s.name === name);
}

/** `host:port` as a browser would use it (IPv6 literals bracketed). */
export function hostPort(server: Pick<ServerView, 'host' | 'webPort'>): string {
  return formatHost(server.host, server.webPort);
}
