/**
 * SERVER_CLUSTERING: the public API. Start-up lives in clustering-startup.ts, the master's and a
 * worker's sides in master-handlers.ts and worker-handlers.ts, delivery from other servers in
 * server-delivery.ts, and the view boxwire's own subsystems use in mesh-view.ts.
 */
import { formatHost } from '../core/host.js';
import { ANY_WORKER, Channel, MASTER } from '../core/envelope.js';
import { UnknownPeerError } from '../core/errors.js';
import type { Handler } from '../core/registry.js';
import { DEFAULT_TIMEOUT_MS } from '../core/request-table.js';
import { currentEndpoint, sendTo, sharedRegistries, type ReplyCallback } from '../cpu/index.js';
import { start } from './clustering-startup.js';
import { clusteringState, membership } from './clustering-state.js';
import { ServerControl } from './control.js';
import type { ServerListener } from './membership.js';
import type { NormalizedServerConfig } from './options.js';
import './master-handlers.js';
import './worker-handlers.js';

export type { ServerClusteringConfig } from './options.js';
export { beforeUserCode } from './clustering-startup.js';
export { notifyMaster } from './worker-handlers.js';
export { onServerMesh, serverMesh, type ServerMeshView } from './mesh-view.js';

export interface ServerSendParams<D = unknown> {
  serverName: string;
  methodName: string;
  data?: D;
  /** A worker of that server; by default one worker that registered the method (round-robin). */
  workerId?: number;
}

function configured(): NormalizedServerConfig {
  const state = clusteringState();
  if (!state) throw new UnknownPeerError('SERVER_CLUSTERING is not configured in this process: call SERVER_CLUSTERING({ hosts, thisServerName, port }) first');
  return state.config;
}

function addressOf(params: ServerSendParams): { server: string; worker: number } {
  const config = configured();
  if (typeof params?.serverName !== 'string' || !config.hosts.has(params.serverName)) {
    throw new UnknownPeerError(`there is no server ${JSON.stringify(params?.serverName)} (known: ${[...config.hosts.keys()].join(', ')})`);
  }
  const worker = params.workerId ?? ANY_WORKER;
  if (params.workerId !== undefined && (!Number.isInteger(worker) || worker < 0 || worker > 0xfff0)) throw new UnknownPeerError(`workerId must be a worker id (0 for the master), got ${String(params.workerId)}`);
  return { server: params.serverName, worker };
}

export const SERVER_CLUSTERING = Object.assign(start, {
  /** Registers a handler for messages other servers (or this one) send with `methodName`. */
  on(methodName: string, handler: Handler): void {
    sharedRegistries()[Channel.Server].on(methodName, handler);
  },
  off(methodName: string, handler?: Handler): void {
    sharedRegistries()[Channel.Server].off(methodName, handler);
  },
  /** Fire-and-forget, or with a callback (UPPERCASE style) that gets the reply. */
  send<R = any>(params: ServerSendParams, callback?: ReplyCallback<R>): void {
    sendTo(addressOf(params), Channel.Server, params, callback);
  },
  /** Returns a Promise of the reply; rejects with TimeoutError, PeerDownError, RemoteError or OverflowError. */
  request<R = any>(params: ServerSendParams, options: { timeoutMs?: number } = {}): Promise<R> {
    try {
      return currentEndpoint().request<R>(addressOf(params), Channel.Server, params.methodName, params.data, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    } catch (error) {
      return Promise.reject(error);
    }
  },
  /**
   * Every other server, handled once per server by one worker that registered the method. Servers
   * not connected get it when they connect (bounded outbox); throws the first OverflowError after
   * trying every server.
   */
  broadcast(params: { methodName: string; data?: unknown }): void {
    const config = configured();
    let failure: unknown;
    for (const server of config.hosts.keys()) {
      if (server === config.thisServerName) continue;
      try {
        currentEndpoint().message({ server, worker: ANY_WORKER }, Channel.Server, params?.methodName, params?.data);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure) throw failure;
  },
  /** `{ serverName: 'host:port' }` for every server, this one included. */
  getHosts(): Record<string, string> {
    return Object.fromEntries([...configured().hosts].map(([name, a]) => [name, formatHost(a.host, a.port)]));
  },
  getThisServerName(): string | undefined {
    return clusteringState()?.config.thisServerName;
  },
  /** Servers with a live link right now (sorted), not this one. */
  getConnectedServerNames(): string[] {
    return membership.connectedNames();
  },
  /**
   * `listener(serverName)` for every server connected now (right after this call: links open
   * before work() runs), then whenever a server's link comes up. Returns an unsubscribe function.
   */
  onServerUp(listener: ServerListener): () => void {
    return membership.onUpIncludingCurrent(listener);
  },
  /** `listener(serverName)` when a server goes down (its pending requests were rejected). */
  onServerDown(listener: ServerListener): () => void {
    return membership.onDown(listener);
  },
  /** `{ serverName: ms }`: how far each connected server's clock is ahead of this one's (negative: behind). */
  async getClockOffsets(): Promise<Record<string, number>> {
    const state = clusteringState();
    if (state?.kind === 'owner') return state.mesh.clockOffsets();
    if (state?.kind === 'worker') return currentEndpoint().request({ worker: MASTER }, Channel.System, ServerControl.offsets, null);
    return {};
  },
});
