/**
 * SERVER_CLUSTERING's start-up, in each arrangement of processes:
 *
 *   - solo process:                         this process owns the links;
 *   - SERVER_CLUSTERING(cfg, () => CPU_CLUSTERING(work)): the master owns them (it ran the call
 *     before becoming master); workers run the same call, and only check their options with it;
 *   - CPU_CLUSTERING(() => SERVER_CLUSTERING(cfg, work)): workers forward their options to the
 *     master, which starts the mesh when the first of them asks (master-handlers.ts).
 *
 * In every case the process is connected before user code runs: the port opens and dialing starts,
 * and the store catches up with a peer (see `beforeUserCode`), before `work()` runs. Messages that
 * arrive while it runs are handled as soon as their method has a handler; the others wait until
 * `work()` is done (see Endpoint.beginStartUp).
 */
import { ConfigError, OverflowError } from '../core/errors.js';
import { log } from '../core/logger.js';
import { watchStartUp } from '../core/startup-watch.js';
import { configErrorMessage, currentEndpoint, isForkedWorker, onShutdown, processRole, stopOnConfigError } from '../cpu/index.js';
import { metricSources } from '../metrics/sources.js';
import { clusteringState, membership, setClusteringState, type OwnerState, type WorkerState } from './clustering-state.js';
import { ServerControl } from './control.js';
import { tellWorkers } from './master-handlers.js';
import { Mesh } from './mesh.js';
import { announceMesh } from './mesh-view.js';
import { validateServerConfig, warnIfUnauthenticated, type NormalizedServerConfig, type ServerClusteringConfig } from './options.js';
import { deliverFromServer, failLocally } from './server-delivery.js';
import { joinMaster } from './worker-handlers.js';

export function start(options: ServerClusteringConfig, work?: () => unknown): Promise<void> {
  if (work !== undefined && typeof work !== 'function') throw new ConfigError('SERVER_CLUSTERING(options, work?): work must be a function');
  const config = validateServerConfig(options);
  if (clusteringState()) throw new ConfigError('SERVER_CLUSTERING was already started in this process; call it once');
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
export function connect(owner: OwnerState): Promise<void> {
  owner.connected ??= (async () => {
    await openNetwork(owner);
    await Promise.all([...beforeUserCodeHooks].map((hook) => hook()));
  })();
  return owner.connected;
}

/** The process that owns the links: install the router, wire mesh events to this process. */
export function createOwner(config: NormalizedServerConfig): OwnerState {
  warnIfUnauthenticated(config);
  const mesh = new Mesh(config, deliverFromServer);
  metricSources.mesh = mesh;
  const owner: OwnerState = { kind: 'owner', config, mesh, started: Promise.resolve() };
  setClusteringState(owner);
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
  announceMesh(owner);
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
  setClusteringState(worker);
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
