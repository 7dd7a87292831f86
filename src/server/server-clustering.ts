/**
 * SERVER_CLUSTERING: the public API, and where the mesh lives in each arrangement of processes.
 *
 *   - solo process:                         this process owns the links;
 *   - SERVER_CLUSTERING(cfg, () => CPU_CLUSTERING(work)): the master owns them (it ran the call
 *     before becoming master); workers run the same call, and only check their options with it;
 *   - CPU_CLUSTERING(() => SERVER_CLUSTERING(cfg, work)): workers forward their options to the
 *     master, which starts the mesh when the first of them asks.
 *
 * In every case the process is connected before user code runs: the port opens and dialing starts,
 * and the store catches up with a peer (see `beforeUserCode`), before `work()` runs. Messages that
 * arrive while it runs are handled as soon as their method has a handler; the others wait until
 * `work()` is done (see Endpoint.beginStartUp).
 */
import { ALL_WORKERS, ANY_WORKER, Channel, Kind, MASTER, decodeEnvelopes, encodeEnvelope, type Envelope } from '../core/envelope.js';
import { ConfigError, OverflowError, RemoteError, UnknownPeerError, toWireError } from '../core/errors.js';
import { log } from '../core/logger.js';
import type { Handler } from '../core/registry.js';
import { setServerDescriber, watchStartUp } from '../core/startup-watch.js';
import { DEFAULT_TIMEOUT_MS } from '../core/request-table.js';
import { configErrorMessage, stopOnConfigError } from '../cpu/index.js';
import { sendTo, type ReplyCallback } from '../cpu/index.js';
import { currentEndpoint, isForkedWorker, processRole, sharedRegistries } from '../cpu/index.js';
import { onShutdown } from '../cpu/index.js';
import { validateServerConfig, warnIfUnauthenticated, type NormalizedServerConfig, type ServerClusteringConfig } from './options.js';
import { ServerControl, type MembershipSnapshot } from './control.js';
import { reportLoad, sampleLoad, type ServerLoad } from './load.js';
import { Membership, type ServerListener } from './membership.js';
import { Mesh } from './mesh.js';
import { metricSources } from '../metrics/sources.js';

export type { ServerClusteringConfig } from './options.js';

interface OwnerState {
  kind: 'owner';
  config: NormalizedServerConfig;
  mesh: Mesh;
  /** Set once the port is open and dialing began. */
  networking?: Promise<void>;
  /** Resolves once the links are opening and the subsystems caught up (see `connect`). */
  connected?: Promise<void>;
  started: Promise<void>;
}

interface WorkerState {
  kind: 'worker';
  config: NormalizedServerConfig;
  started: Promise<void>;
}

let state: OwnerState | WorkerState | undefined;
const membership = new Membership();
const meshListeners = new Set<(view: ServerMeshView) => void>();

// ---- starting --------------------------------------------------------------------------------

function start(options: ServerClusteringConfig, work?: () => unknown): Promise<void> {
  if (work !== undefined && typeof work !== 'function') throw new ConfigError('SERVER_CLUSTERING(options, work?): work must be a function');
  const config = validateServerConfig(options);
  if (state) throw new ConfigError('SERVER_CLUSTERING was already started in this process; call it once');
  if (isForkedWorker()) return startInWorker(options, config, work);
  const owner = createOwner(config);
  const endpoint = currentEndpoint();
  endpoint.beginStartUp();
  owner.started = (async () => {
    try {
      try {
        await connect(owner);
      } catch (error) {
        // A port that cannot open: user code that hangs off this call (work, e.g. the
        // SERVER_CLUSTERING(config, () => CPU_CLUSTERING(work)) nesting) can never run, so the
        // process stops with one line, as when the options come from workers. Called without
        // work, the caller gets the rejection to handle.
        const configError = configErrorMessage(error);
        if (configError !== undefined && (work || processRole() === 'master')) return stopOnConfigError(configError);
        throw error;
      }
      if (work) await watchStartUp('SERVER_CLUSTERING work()', currentEndpoint, work);
    } finally {
      // The endpoint of this call: should work() have made this process a master, that one ends
      // its own start-up when its workers are ready.
      endpoint.finishStartUp();
    }
  })();
  return owner.started;
}

/** What must be done before user code runs once the links are opening (the store's catch-up). */
const beforeUserCodeHooks = new Set<() => Promise<void> | undefined>();

/**
 * Registers a wait that user code must not start before, run once the links are opening — the
 * store uses it to catch its replica up with a peer. Internal (store, roles).
 */
export function beforeUserCode(hook: () => Promise<void> | undefined): void {
  beforeUserCodeHooks.add(hook);
}

/** Opens the port, starts dialing, and waits for what user code must not start before. */
function connect(owner: OwnerState): Promise<void> {
  owner.connected ??= (async () => {
    await openNetwork(owner);
    await Promise.all([...beforeUserCodeHooks].map((hook) => hook()));
  })();
  return owner.connected;
}

/** The process that owns the links: install the router, wire mesh events to this process. */
function createOwner(config: NormalizedServerConfig): OwnerState {
  warnIfUnauthenticated(config);
  const mesh = new Mesh(config, deliverFromServer);
  metricSources.mesh = mesh;
  const owner: OwnerState = { kind: 'owner', config, mesh, started: Promise.resolve() };
  state = owner;
  const endpoint = currentEndpoint();
  endpoint.serverName = config.thisServerName;
  endpoint.serverRouter = mesh;
  mesh.on('up', (server) => {
    tellWorkers(ServerControl.up, { server });
    membership.markUp(server);
  });
  mesh.on('down', (server) => {
    currentEndpoint().peerDown((peer) => peer.startsWith(server + '/'), `server '${server}'`);
    tellWorkers(ServerControl.down, { server });
    membership.markDown(server);
  });
  mesh.on('oversized', (envelope, bytes, server) => {
    const error = new OverflowError(`a message of ${bytes} bytes to server '${server}'`, `frames are capped at ${config.maxFrameBytes} bytes`);
    log.error('server.message_too_large', { method: envelope.method, bytes, server });
    failLocally(envelope, error);
  });
  onShutdown(() => mesh.stop());
  const view = meshView(owner);
  for (const listener of [...meshListeners]) listener(view);
  return owner;
}

function openNetwork(owner: OwnerState): Promise<void> {
  owner.networking ??= owner.mesh.start();
  return owner.networking;
}

/**
 * In a worker: options go to the master (which checks them, and starts the mesh if it has none).
 * Nested inside CPU_CLUSTERING, work() runs once the master answers — its links are opening and
 * its store has caught up — so what work() reads reflects the cluster. Around CPU_CLUSTERING, the
 * worker runtime exists only once work() (which calls CPU_CLUSTERING) has run; the master was
 * connected before it forked this worker.
 */
function startInWorker(options: ServerClusteringConfig, config: NormalizedServerConfig, work?: () => unknown): Promise<void> {
  currentEndpoint().serverName = config.thisServerName;
  const worker: WorkerState = { kind: 'worker', config, started: Promise.resolve() };
  state = worker;
  worker.started = (async () => {
    const nestedInCpu = processRole() === 'worker';
    if (nestedInCpu) await joinMaster(options);
    await work?.();
    if (!nestedInCpu) {
      if (processRole() !== 'worker') {
        log.warn('server.worker_without_cpu_clustering', { note: 'SERVER_CLUSTERING ran in a forked worker whose work() did not call CPU_CLUSTERING' });
        return;
      }
      await joinMaster(options);
    }
  })();
  return worker.started;
}

/**
 * Worker → master notice, sent as a request: a master treats one-way `bw.` messages from workers
 * as its own control traffic, while requests reach the System handlers registered here.
 */
export function notifyMaster(method: string, data: unknown): void {
  currentEndpoint().request({ worker: MASTER }, Channel.System, method, data, 120_000).catch((error) => {
    log.debug('server.notice_failed', { method, error });
  });
}

/**
 * Resolves once the master accepted the options and is connected. A worker whose options differ
 * from its server's (or whose server cannot open its port) must not run: one clear line, exit 1.
 */
async function joinMaster(options: ServerClusteringConfig): Promise<void> {
  try {
    const snapshot = await currentEndpoint().request<MembershipSnapshot>({ worker: MASTER }, Channel.System, ServerControl.config, options, 120_000);
    membership.reset(snapshot.connected);
  } catch (error) {
    const configError = configErrorMessage(error);
    if (configError !== undefined) return stopOnConfigError(configError);
    log.error('server.config_rejected', { workerId: currentEndpoint().workerId, error: error instanceof RemoteError ? error.remoteMessage : (error as Error).message });
    throw error;
  }
}

// ---- master side of workers' calls ------------------------------------------------------------

const system = sharedRegistries()[Channel.System];

/** The first worker's options create the mesh; every worker's answer waits until it is connected. */
system.on(ServerControl.config, async (options: ServerClusteringConfig) => {
  if (processRole() !== 'master') throw new ConfigError('SERVER_CLUSTERING options can only be forwarded to a master');
  const config = validateServerConfig(options);
  if (!state) {
    const owner = createOwner(config);
    owner.started = connect(owner);
    // The cluster port cannot open (in use, not an address here): no worker can run; restarting
    // them forever would not help. One clear line, exit 1.
    owner.started.catch(reportNetworkFailure);
  } else if (state.config.fingerprint !== config.fingerprint) {
    throw new ConfigError(`SERVER_CLUSTERING: worker options differ from this server's (${describeDifference(state.config.fingerprint, config.fingerprint)}); every worker must pass the same options`);
  }
  if (state?.kind === 'owner') await connect(state);
  return { connected: membership.connectedNames() } satisfies MembershipSnapshot;
});

system.on(ServerControl.offsets, () => (state?.kind === 'owner' ? state.mesh.clockOffsets() : {}));

/**
 * The master could not open the mesh (its port is taken, its address is not on this machine):
 * the options it got from its workers cannot work, so the whole server stops with one line.
 */
function reportNetworkFailure(error: unknown): void {
  const configError = configErrorMessage(error);
  if (configError !== undefined) return void stopOnConfigError(configError);
  log.error('server.start_failed', { error: (error as Error).message });
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}

function describeDifference(a: string, b: string): string {
  const left = JSON.parse(a) as Record<string, unknown>;
  const right = JSON.parse(b) as Record<string, unknown>;
  const keys = Object.keys(left).filter((key) => JSON.stringify(left[key]) !== JSON.stringify(right[key]));
  return keys.length ? `differs in ${keys.join(', ')}` : 'differs';
}

// ---- worker side of the master's notices ------------------------------------------------------

system.on(ServerControl.up, ({ server }: { server: string }) => membership.markUp(server));
system.on(ServerControl.down, ({ server }: { server: string }) => {
  currentEndpoint().peerDown((peer) => peer.startsWith(server + '/'), `server '${server}'`);
  membership.markDown(server);
});

function tellWorkers(method: string, data: unknown): void {
  if (processRole() !== 'master') return;
  try {
    currentEndpoint().message({ worker: ALL_WORKERS }, Channel.System, method, data);
  } catch (error) {
    log.warn('server.notice_undeliverable', { method, error });
  }
}

// ---- delivery of what other servers send ------------------------------------------------------

/** A record from another server: the master routes it to its workers; a solo process handles it. */
function deliverFromServer(from: string, target: number, body: Uint8Array, count: number): void {
  try {
    currentEndpoint().deliverFromServer(target, body, count);
  } catch (error) {
    failRemotely(from, body, error as Error);
  }
}

/** Envelopes from another server that cannot be delivered here: fail each request back. */
function failRemotely(from: string, body: Uint8Array, error: Error): void {
  let envelopes: Envelope[];
  try {
    envelopes = decodeEnvelopes(body);
  } catch {
    log.warn('envelope.malformed', { from });
    return;
  }
  for (const envelope of envelopes) {
    if (envelope.kind !== Kind.Request || state?.kind !== 'owner') log.warn('message.dropped', { method: envelope.method, from, error });
    else currentEndpoint().failRequest({ ...envelope, fromServer: envelope.fromServer ?? from }, error);
  }
}

/** An envelope of ours that could not leave (too large): its requester gets the error. */
function failLocally(envelope: Envelope, error: Error): void {
  if (envelope.kind === Kind.Reply && envelope.toServer) {
    // A reply too large: the remote requester gets the failure instead of a timeout.
    currentEndpoint().failRequest({ ...envelope, fromServer: envelope.toServer, fromWorker: envelope.toWorker ?? MASTER }, error);
  } else if (envelope.kind === Kind.Request) {
    currentEndpoint().failRequest(envelope, error);
  }
}

// ---- the public API ---------------------------------------------------------------------------

export interface ServerSendParams<D = unknown> {
  serverName: string;
  methodName: string;
  data?: D;
  /** A worker of that server; by default one worker that registered the method (round-robin). */
  workerId?: number;
}

function configured(): NormalizedServerConfig {
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
    return Object.fromEntries([...configured().hosts].map(([name, a]) => [name, `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`]));
  },
  getThisServerName(): string | undefined {
    return state?.config.thisServerName;
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
    if (state?.kind === 'owner') return state.mesh.clockOffsets();
    if (state?.kind === 'worker') return currentEndpoint().request({ worker: MASTER }, Channel.System, ServerControl.offsets, null);
    return {};
  },
});

// ---- the internal view for other subsystems (store, roles, DISTRIBUTE_PROCESS) ---------------

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
setServerDescriber((server) => (state && server !== state.config.thisServerName && !membership.connectedNames().includes(server) ? 'not connected' : undefined));

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
  return state?.kind === 'owner' ? meshView(state) : undefined;
}

/** Calls `listener` when this process gets its mesh (at once if it has one). Returns an unsubscribe function. */
export function onServerMesh(listener: (view: ServerMeshView) => void): () => void {
  meshListeners.add(listener);
  if (state?.kind === 'owner') listener(meshView(state));
  return () => void meshListeners.delete(listener);
}
