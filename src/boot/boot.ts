/**
 * boot(): one server of a cluster, from the cluster config.
 *
 *   master:  SERVER_CLUSTERING from the config (the master owns the links) → topology and
 *            status views pushed to the workers
 *   workers: store engine → boxes loaded → roles (HTTP/WebSocket on host:webPort, shared by
 *            every worker through node:cluster) → boxes' onBoot → listening
 *
 * SIGTERM/SIGINT stop gracefully (CPU_CLUSTERING's graceful stop; each worker closes its HTTP
 * server and WebSockets in a shutdown hook), SIGUSR2 rolls the workers.
 */
import { delimiter, join, resolve } from 'node:path';
import type { ClusterConfig, Role, ServerConfig } from '../config/index.js';
import { ConfigError } from '../core/errors.js';
import { formatHost } from '../core/host.js';
import { Channel, MASTER } from '../core/envelope.js';
import { log } from '../core/logger.js';
import { CPU_CLUSTERING } from '../cpu/index.js';
import { configureRedis, redisSettings } from '../redis/redis-settings.js';
import { UNIQUE_ID } from '../coord/unique-id.js';
// The master serves its workers' LOCK / QUEUE calls when there is no Redis (it loads no box code itself).
import '../coord/embedded-node.js';
// The master is every server's DISTRIBUTE_PROCESS agent (its workers' boxes offer the jobs), so it
// needs the agent's handlers although it loads no box code: without them a box's jobs never ran.
import '../server/distribute-process.js';
import { currentEndpoint, processRole, sharedRegistries } from '../cpu/index.js';
import { onShutdown, onStopAccepting } from '../cpu/index.js';
import { bootBoxes, loadBoxes, loadedBoxes } from '../boxes/box-registry.js';
import { ApiRole } from '../roles/api/api-role.js';
import { apiLimitsFromEnv } from '../roles/api/api-limits.js';
import { serveRateLeases } from '../roles/api/server-rate-limit.js';
import { Download } from '../roles/files/download.js';
import { MongoFileIndex, StoreFileIndex, FILES_STORE, type FileIndex } from '../roles/files/file-meta.js';
import { FrontDoor } from '../roles/cluster/front-door.js';
import { announceStores } from '../roles/cluster/status.js';
import { setTopology, topology, type TopologySnapshot } from '../roles/cluster/topology.js';
import { UploadRole } from '../roles/files/upload-role.js';
import { WebServer } from '../roles/http/web-server.js';
import { configureEdge } from '../roles/cluster/public-address.js';
import { DrainWatch } from './drain-watch.js';
import { installMetricsHandlers } from '../metrics/cluster-scrape.js';
import { metricSources } from '../metrics/sources.js';
import { noMesh, type MeshView } from '../roles/cluster/mesh-view.js';
import { preflight } from './preflight.js';
import { StatusSource } from '../roles/cluster/status-source.js';
import { installStoreEngine } from './store-engine.js';
import { TopologySource } from '../roles/cluster/topology-source.js';
import { RoleMethods } from '../roles/role-methods.js';

export interface BootOptions {
  config: ClusterConfig;
  serverName: string;
  /** Where box folders live (several joined by the path delimiter, first match wins); default `./boxes`. */
  boxesDir?: string;
  /** Relative `dataDir`s are resolved from here (the config file's folder); default the working directory. */
  baseDir?: string;
  /** Called in each worker once it serves (tests and the demo print the URL from it). */
  onListening?: (info: { url: string; server: ServerConfig; workerId: number }) => void;
  /** Called once per server, in its master (or its only process), when every worker serves. */
  onReady?: (info: { url: string; server: ServerConfig }) => void;
}

export async function boot(options: BootOptions): Promise<void> {
  const { config, serverName } = options;
  const server = Object.prototype.hasOwnProperty.call(config.servers, serverName) ? config.servers[serverName] : undefined;
  if (!server) {
    throw new ConfigError(`there is no server '${serverName}' in the config (servers: ${Object.keys(config.servers).join(', ')}); pass --server NAME or set BOXWIRE_SERVER`);
  }
  // Every process (master and workers) reads the same config: the Redis setting applies to each.
  if (config.redis) configureRedis(config.redis);
  const boxesDirs = (options.boxesDir ?? join(process.cwd(), 'boxes')).split(delimiter).filter(Boolean).map((dir) => resolve(dir));
  await preflight(config, server, boxesDirs);
  installMetricsHandlers();
  await CPU_CLUSTERING({ workers: server.workers, master: () => startMaster(config, server) }, () => startWorker(config, server, boxesDirs, options));
  if (processRole() !== 'worker') options.onReady?.({ url: webUrl(server), server });
}

function webUrl(server: ServerConfig): string {
  return `http://${formatHost(server.host, server.webPort)}/`;
}

async function startMaster(config: ClusterConfig, server: ServerConfig): Promise<void> {
  await installStoreEngine(config);
  const others = Object.keys(config.servers).filter((name) => name !== server.name);
  // Single-server boots (npm start) never load the mesh.
  const mesh: MeshView = others.length > 0 ? (await import('./server-mesh.js')).masterMeshView() : noMesh;
  new DrainWatch().install();
  const topology = new TopologySource(config, server.name, mesh);
  topology.start();
  new StatusSource(topology, mesh).start();
  if (server.roles.includes('api')) serveRateLeases(apiLimitsFromEnv());
  log.info('server.master_ready', { server: server.name, roles: server.roles, peers: others });
}

async function startWorker(config: ClusterConfig, server: ServerConfig, boxesDirs: string[], options: BootOptions): Promise<void> {
  if (processRole() === 'worker') await followTopology();
  await installStoreEngine(config);
  // With Redis, lease this process's UNIQUE_ID node id now, so boxes can call UNIQUE_ID() synchronously.
  if (redisSettings()) void UNIQUE_ID.ready();
  const work = () => setUpRoles(config, server, boxesDirs, options);
  if (Object.keys(config.servers).length === 1) return work();
  const { runInMesh } = await import('./server-mesh.js');
  await runInMesh(config, server.name, work);
}

async function setUpRoles(config: ClusterConfig, server: ServerConfig, boxesDirs: string[], options: BootOptions): Promise<void> {
  const has = (role: Role) => server.roles.includes(role);
  configureEdge(config);
  const boxes = await loadBoxes(boxesDirs, config.boxes ?? (config.defaultBox ? [config.defaultBox] : []));
  const dataDir = has('upload') ? resolve(options.baseDir ?? process.cwd(), server.dataDir ?? join('data', server.name)) : undefined;
  const index: FileIndex = config.mongo ? new MongoFileIndex(config.mongo.url) : new StoreFileIndex(dataDir);
  const api = has('api') ? new ApiRole(apiLimitsFromEnv()) : undefined;
  if (api) reportConnections(api);
  if (api) metricSources.websocketClients = () => api.connectionCount();
  const web = new WebServer(server, {
    frontDoor: has('front-door') ? new FrontDoor(config.defaultBox ?? boxes[0]?.name) : undefined,
    api,
    upload: dataDir ? new UploadRole({ serverName: server.name, dataDir, maxUploadFileMB: config.maxUploadFileMB, index }) : undefined,
    download: new Download({ serverName: server.name, dataDir, index }),
  });
  await bootBoxes(boxes);
  // One worker per server re-announces the files on its disk (the store index is rebuilt from them).
  if (dataDir && CPU_CLUSTERING.getWorkerId() === 1) {
    const count = await index.announce(dataDir, server.name);
    if (count) log.info('upload.announced', { server: server.name, files: count });
  }
  announceStores([FILES_STORE, ...loadedBoxes().flatMap((box) => box.storeNames())]);
  await web.listen();
  // Stop accepting first (and close WebSockets, which would otherwise hold the stop until the
  // grace period); in-flight HTTP requests finish; then release the file index.
  onStopAccepting(() => web.close());
  onShutdown(() => index.close());
  const url = webUrl(server);
  log.info('server.listening', { server: server.name, url, roles: server.roles, workerId: CPU_CLUSTERING.getWorkerId() });
  options.onListening?.({ url, server, workerId: CPU_CLUSTERING.getWorkerId() });
}

/**
 * A worker keeps the master's latest topology view. A worker is not "ready" until work() ends, and
 * the master holds ordinary messages for a worker that is not ready, so the worker cannot just
 * ask: it says hello with its pid and the master sends the view straight to that process.
 */
async function followTopology(): Promise<void> {
  let first: (() => void) | undefined;
  const arrived = new Promise<void>((resolve) => (first = resolve));
  sharedRegistries()[Channel.System].on(RoleMethods.topologyPush, (snapshot: TopologySnapshot) => {
    setTopology(snapshot);
    first?.();
  });
  currentEndpoint().message({ worker: MASTER }, Channel.System, RoleMethods.topologyHello, { workerId: currentEndpoint().workerId, pid: process.pid });
  const timer = setTimeout(() => first?.(), 5_000);
  await arrived;
  clearTimeout(timer);
  if (!topology()) log.warn('topology.late', { note: 'no topology from the master yet; discovery answers 503 until it arrives' });
}

/** Each worker tells its master how many WebSocket clients it holds; the master adds them up into the load figure. */
function reportConnections(api: ApiRole): void {
  const timer = setInterval(() => {
    try {
      currentEndpoint().message({ worker: MASTER }, Channel.System, RoleMethods.connectionsReport, { workerId: currentEndpoint().workerId, connections: api.connectionCount() });
    } catch (error) {
      log.debug('load.report_failed', { error });
    }
  }, 1000);
  timer.unref();
}
