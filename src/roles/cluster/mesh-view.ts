/**
 * What the master needs from the server mesh to build the topology and status views, behind
 * one small interface: the single-server default (`npm start`) has no mesh at all.
 */
export interface MeshView {
  /** Names of servers with a live link right now. */
  connected(): string[];
  /** A peer's load score from its heartbeats (lower is less busy), or null when unknown. */
  load(serverName: string): number | null;
  /** Peer clock minus ours (ms), or null when not measured yet. */
  clockOffsetMs(serverName: string): number | null;
  /** Called on every server up/down. */
  onChange(listener: () => void): void;
  /** Asks another server's master for its local status part (null on timeout or error). */
  requestStatus(serverName: string, timeoutMs: number): Promise<unknown>;
  /** Answers other servers' status requests. */
  serveStatus(handler: () => Promise<unknown>): void;
  /** Publishes this server's client connection count on the heartbeats (part of its load). */
  reportConnections(count: number): void;
}

/** The mesh of a cluster of one. */
export const noMesh: MeshView = {
  connected: () => [],
  load: () => null,
  clockOffsetMs: () => null,
  onChange: () => undefined,
  requestStatus: async () => null,
  serveStatus: () => undefined,
  reportConnections: () => undefined,
};
