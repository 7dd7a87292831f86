import cluster from 'node:cluster';
import { Channel, Kind, MASTER, encodeEnvelope } from '../core/envelope.js';
import { log } from '../core/logger.js';
import { currentEndpoint, isForkedWorker, processRole, sharedRegistries } from '../cpu/index.js';
import { addStartupWaitSource } from '../core/startup-watch.js';
import { onServerMesh } from '../server/index.js';
import { beforeUserCode } from '../server/server-clustering.js';
import { InMemoryReplicatedEngine, type StoreEngine } from './engines/engine.js';
import { chosenStoreEngine } from './engines/engine-choice.js';
import { RedisStoreEngine } from './engines/redis/redis-store-engine.js';
import { ReplicaHost } from './replication/replica-host.js';
import type { WorkerFeed } from './workers/worker-feeds.js';
import type { ReplicationMessage } from './replication/replication.js';
import { ServerMeshTransport } from './replication/server-transport.js';
import { StoreMethods } from './store-methods.js';
import { WorkerMirror } from './workers/worker-mirror.js';
import { writeRequestFromWire, type WriteRequestWire } from './workers/write-request-wire.js';
import type { WriteRequest, WriteResult } from './workers/write-request.js';
import { TurnBudget } from './turn-budget.js';

/**
 * Writes to this process's replica resolve at once up to this many per event-loop turn, then on
 * the next turn: a tight `await update()` loop cannot starve the links' heartbeats.
 */
const localWrites = new TurnBudget(256);
import { metricSources } from '../metrics/sources.js';

/**
 * Which replica this process holds: a master (or a process without clustering) holds its
 * server's replica (ReplicaHost); a worker holds a read replica fed by its master (WorkerMirror).
 */
let host: ReplicaHost | undefined;
let mirror: WorkerMirror | undefined;
let transport: ServerMeshTransport | undefined;
let engine: StoreEngine | undefined;

function isWorkerProcess(): boolean {
  return processRole() === 'worker' || isForkedWorker();
}

export function replicaHost(): ReplicaHost {
  if (host) return host;
  host = new ReplicaHost();
  metricSources.replica = host;
  if (transport) host.attachTransport(transport);
  host.setFeedSink((workerId, pid, feed) => {
    return currentEndpoint().sendToProcess(workerId, pid, encodeEnvelope({ kind: Kind.Message, channel: Channel.System, method: StoreMethods.feed, data: feed, id: 0, fromWorker: MASTER }));
  });
  return host;
}

/** Whether this process runs its server's replica (diagnostics and tests). */
export function storeReplicaStarted(): boolean {
  return host !== undefined;
}

/** Whether this process holds a copy of `store` (a worker holds only the stores it reads; diagnostics and tests). */
export function storeHeldHere(store: string): boolean {
  const current = storeEngine();
  if (current instanceof RedisStoreEngine) return current.holds(store);
  return (mirror ? mirror.tables : replicaHost().replica.state).peek(store) !== undefined;
}

/** The engine serving this process's SHARED_STORE calls, once the first call chose it. */
export function startedStoreEngine(): StoreEngine | undefined {
  return engine;
}

/** Closes this process's connections to the store's backend (the Redis engine); the in-memory engine has none. */
export function closeStoreEngine(): void {
  if (engine instanceof RedisStoreEngine) engine.close();
}

/** The engine serving this process's SHARED_STORE calls. */
export function storeEngine(): StoreEngine {
  if (engine) return engine;
  const chosen = chosenStoreEngine();
  if (chosen.engine === 'redis') {
    // Every process (master, each worker) talks to Redis itself and keeps its own copy.
    engine = new RedisStoreEngine(chosen.redis!, { feedLength: chosen.feedLength, slotGroups: chosen.slotGroups });
    return engine;
  }
  if (isWorkerProcess()) {
    const m = (mirror = new WorkerMirror());
    engine = new InMemoryReplicatedEngine({ tables: () => m.tables, now: () => m.now(), whenReadable: (store) => m.whenReadable(store), whenWritable: () => undefined, write: (r) => m.write(r), changes: m.changes, keepsWrittenData: false });
  } else {
    const h = replicaHost();
    engine = new InMemoryReplicatedEngine({
      tables: () => h.replica.state,
      now: () => h.clusterClock.now(),
      whenReadable: () => h.whenSynced(),
      whenWritable: () => h.whenSynced(),
      write: (request) => {
        const waiting = h.whenSynced();
        if (waiting) return waiting.then(() => hostWrite(h, request));
        try {
          return hostWrite(h, request);
        } catch (error) {
          return Promise.reject(error);
        }
      },
      changes: h.changes,
      keepsWrittenData: true,
    });
  }
  return engine;
}

/** A write on this server's replica; `create` answers once its verdict is final (see ReplicaHost.create). */
function hostWrite(h: ReplicaHost, request: WriteRequest): Promise<WriteResult> {
  return request.kind === 'create' ? h.create(request) : localWrites.resolve(h.write(request));
}

// Handlers exist in every process from import on, so a master serves its workers' stores without
// running any user code.
const system = sharedRegistries()[Channel.System];

system.on(StoreMethods.subscribe, async (data: { worker: number; pid: number; store: string }) => {
  if (isWorkerProcess()) return;
  const h = replicaHost();
  await h.whenSynced();
  h.subscribe(data.worker, data.pid, data.store);
});

system.on(StoreMethods.writes, (data: { worker: number; pid: number; first: number; list: WriteRequestWire[] }) => {
  if (isWorkerProcess()) return;
  const h = replicaHost();
  const apply = () => h.writeBatch(data.worker, data.pid, data.first, data.list.map(writeRequestFromWire), currentEndpoint().origin);
  const waiting = h.whenSynced();
  if (waiting) void waiting.then(apply);
  else apply();
});

system.on(StoreMethods.feed, (feed: WorkerFeed) => {
  if (!mirror) storeEngine();
  mirror?.onFeed(feed);
});

system.on(StoreMethods.replicate, (data: { from: string; message: ReplicationMessage }) => {
  if (!transport) {
    log.debug('store.replication_before_mesh', { from: data.from });
    return;
  }
  replicaHost(); // a peer uses the store: this server's replica joins (see below)
  transport.deliver(data.from, data.message);
});

// A worker that exits stops being fed at once, not only when a send to it fails.
if (cluster.isPrimary) cluster.on('exit', (worker) => worker.process.pid !== undefined && host?.forgetWorker(worker.process.pid));

// The server's replica joins replication once this process has its mesh and the store is in use
// — here, or on another server (its first replication message starts the replica here). A
// cluster that never uses SHARED_STORE runs no store timers and sends no store traffic.
onServerMesh((view) => {
  if (transport) return;
  transport = new ServerMeshTransport(view);
  host?.attachTransport(transport);
});

// User code (work(), onBoot) starts once this server's replica caught up with a peer (at most
// the catch-up wait). A replica that starts later, on first use, makes its first reads and
// writes wait the same way.
beforeUserCode(() => host?.whenSynced());
addStartupWaitSource(() => [
  ...(host?.catchingUp() ? ['SHARED_STORE: this server catching up with its peers (at most 5 s)'] : []),
  ...(mirror?.loadingStores().map((store) => `SHARED_STORE('${store}'): its data from the master (which first catches up with its peers)`) ?? []),
]);
