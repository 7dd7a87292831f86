import cluster, { type Worker } from 'node:cluster';
import { Endpoint, type Address, type Registries } from '../core/endpoint.js';
import { ALL_WORKERS, ANY_WORKER, Channel, Kind, MASTER, decodeEnvelopes, encodeEnvelope, type Envelope } from '../core/envelope.js';
import { UnknownPeerError, toWireError } from '../core/errors.js';
import { log } from '../core/logger.js';
import { HeldMessages } from '../core/held-messages.js';
import type { OutboxLimits } from '../core/outbox.js';
import { printConfigError } from './config-failure.js';
import { Control, type MethodsNotice } from './control.js';
import type { Socket } from 'node:net';
import { LINK_FD, PipeLink } from './pipe-link.js';
import { drain, setServerState } from './lifecycle.js';
import { runShutdownHooks } from './shutdown-hooks.js';
import { ReplacementReplies } from './replacement-replies.js';
import { WorkerSlot, type Incarnation } from './worker-slot.js';
import { InFlightRequests } from './in-flight-requests.js';
import { REQUESTS_DOWN, WORKER_DOWN, type RequestsDownNotice, type WorkerDownNotice } from '../core/requests-down.js';

/** `sourceWorker` for envelopes that came from no local worker (none to skip or blame). */
const FROM_ELSEWHERE = -1;

export interface MasterOptions {
  workers: number;
  /** How long a stopping worker may take before it is killed (default 10 s). */
  gracefulTimeoutMs?: number;
  outbox?: OutboxLimits;
}

/**
 * The master process: forks the workers, routes every envelope between them (without decoding
 * worker-to-worker traffic), supervises them with stable ids, restarts them on crash with
 * backoff, rolls them on SIGUSR2 and stops them gracefully on SIGTERM/SIGINT.
 */
/** Bound on messages held for methods whose workers are being re-forked. */
const MAX_AWAITING_OWNER = 100_000;

export class Master extends Endpoint {
  readonly workerCount: number;
  private readonly slots = new Map<number, WorkerSlot>();
  private readonly methodOwners = new Map<string, number[]>();
  private readonly roundRobin = new Map<string, number>();
  /**
   * Methods whose only handlers were on workers that are being re-forked (a crash, kill -9), and
   * what arrived for them meanwhile: held until the new process registers the method again, as
   * messages addressed to a restarting worker id wait — not answered NoHandlerError by the master.
   */
  private readonly ownerRestarting = new Set<string>();
  private readonly awaitingOwner = new HeldMessages();
  private readonly gracefulTimeoutMs: number;
  private stopping = false;
  private rolling?: Promise<void>;
  private readonly readyWaiters = new Map<Worker, () => void>();
  private readonly replacementReplies = new ReplacementReplies();
  /** Listeners told when a worker id's process went away unexpectedly (server links, store). */
  readonly workerDownListeners = new Set<(workerId: number) => void>();
  /** Listeners told when any worker process exits, expected or not (an old one after a rolling restart too). */
  readonly processExitListeners = new Set<(workerId: number, pid: number) => void>();
  /** Requests this master routed to a worker process itself (to "any worker", from other servers). */
  private readonly inFlight = new InFlightRequests(() => this.serverName);

  constructor(options: MasterOptions, registries?: Registries) {
    super(MASTER, registries);
    this.workerCount = options.workers;
    this.gracefulTimeoutMs = options.gracefulTimeoutMs ?? 10_000;
    for (let id = 1; id <= this.workerCount; id++) this.slots.set(id, new WorkerSlot(id, options.outbox));
    // Until every worker's work() is done, what no process handles yet waits (see dispatch).
    this.beginStartUp();
  }

  /** Forks every worker; resolves once each has reported ready (its work() done) for the first time. */
  async start(): Promise<void> {
    // stdio 4: the pipe that carries boxwire frames (see PipeLink); 3 is node:cluster's IPC.
    cluster.setupPrimary({ stdio: ['inherit', 'inherit', 'inherit', 'ipc', 'pipe'] });
    try {
      await Promise.all([...this.slots.values()].map((slot) => this.startIncarnation(slot, 'current')));
      if (!this.stopping) setServerState('ready');
    } finally {
      this.finishStartUp();
    }
  }

  /**
   * SERVER_CLUSTERING(config, () => CPU_CLUSTERING(work)): what reached this process from other
   * servers before it became the master, and waits for a handler, goes to a worker that registers
   * it (it was addressed to the server, not to its master).
   */
  override adoptHeld(previous: Endpoint): void {
    super.adoptHeld(previous, (envelope) => this.routeEnvelope(ANY_WORKER, envelope, FROM_ELSEWHERE));
  }

  /** Ids of workers whose process is up and ready. */
  readyWorkerIds(): number[] {
    return [...this.slots.values()].filter((slot) => slot.ready).map((slot) => slot.id);
  }

  /** The worker slots (ids, readiness, outboxes, restart counts), for metrics. */
  workerSlots(): readonly WorkerSlot[] {
    return [...this.slots.values()];
  }

  workerPids(): Record<number, number | undefined> {
    return Object.fromEntries([...this.slots.values()].map((slot) => [slot.id, slot.current?.worker.process.pid]));
  }

  // ---- routing ---------------------------------------------------------------------------

  protected route(to: Address, envelope: Envelope): void {
    if (to.server !== undefined && to.server !== this.serverName) return this.routeRemote(to, envelope);
    this.routeEnvelope(to.worker, envelope);
  }

  /** Routes one envelope of the master's own (or one it decoded) to this server's target. */
  private routeEnvelope(target: number, envelope: Envelope, sourceWorker = MASTER): void {
    if (target === MASTER) {
      const body = encodeEnvelope(envelope);
      setImmediate(() => this.receive(body));
    } else if (target === ALL_WORKERS) {
      for (const slot of this.slots.values()) if (slot.id !== sourceWorker) this.deliverEnvelopeTo(slot, envelope, sourceWorker);
    } else if (target === ANY_WORKER) {
      const owner = this.pickOwner(envelope.channel, envelope.method);
      if (owner !== MASTER) this.deliverEnvelopeTo(this.slots.get(owner)!, envelope, sourceWorker);
      else if (this.held && !this.registries[envelope.channel].has(envelope.method)) {
        // No worker handles it yet while they start: wait for one to register it (setOwner).
        this.held.hold(envelope, () => this.routeEnvelope(ANY_WORKER, envelope, sourceWorker));
      } else if (this.ownerRestarting.has(`${envelope.channel}:${envelope.method}`) && this.awaitingOwner.size < MAX_AWAITING_OWNER && !this.registries[envelope.channel].has(envelope.method)) {
        // Its worker is being re-forked: wait for it (requests stay bound by their deadline).
        this.awaitingOwner.hold(envelope, () => this.routeEnvelope(ANY_WORKER, envelope, sourceWorker));
      } else setImmediate(() => this.dispatch(envelope));
    } else {
      this.deliverEnvelopeTo(this.slotFor(target), envelope, sourceWorker);
    }
  }

  /**
   * Delivers a record (a batch of envelopes) addressed to this server: to the master itself, one
   * worker, any worker that handles each method, or every worker but the sender. Worker-to-worker
   * records are forwarded without decoding. Used for worker traffic and by the server links.
   */
  deliverLocal(target: number, body: Uint8Array, sourceWorker: number, count = 1): void {
    if (target === MASTER) {
      this.receive(body);
    } else if (target === ALL_WORKERS) {
      for (const slot of this.slots.values()) if (slot.id !== sourceWorker) this.deliverRecordTo(slot, target, body, count, sourceWorker);
    } else if (target === ANY_WORKER) {
      for (const envelope of decodeEnvelopes(body)) this.routeEnvelope(ANY_WORKER, envelope, sourceWorker);
    } else {
      this.deliverRecordTo(this.slotFor(target), target, body, count, sourceWorker);
    }
  }

  /**
   * Sends straight to one process serving `workerId` (matched by pid), even before it reports
   * ready, bypassing the outbox. SHARED_STORE feeds a worker's read replica this way, because
   * `work()` may await store calls before the worker is ready. Returns false when that process
   * is gone (the caller forgets it). `body` is one encoded envelope (`encodeEnvelope`), so a
   * feed shared by several workers is encoded once.
   */
  sendToProcess(workerId: number, pid: number, body: Uint8Array): boolean {
    const slot = this.slots.get(workerId);
    const incarnation = slot?.current?.worker.process.pid === pid ? slot.current : slot?.replacement?.worker.process.pid === pid ? slot.replacement : this.retiringByPid(pid);
    if (!incarnation || incarnation.worker.isDead()) return false;
    incarnation.link.send(workerId, body, 1);
    // The caller already batched a whole tick; writing now saves the worker an event-loop turn.
    incarnation.link.flush();
    return true;
  }

  private slotFor(target: number): WorkerSlot {
    const slot = this.slots.get(target);
    if (!slot) throw new UnknownPeerError(`there is no worker ${target} (this server runs workers 1..${this.workerCount})`);
    return slot;
  }

  private deliverEnvelopeTo(slot: WorkerSlot, envelope: Envelope, sourceWorker: number): void {
    const replacement = this.replacementReplies.active ? this.replacementReplies.take(slot.id, envelope) : undefined;
    if (replacement) {
      replacement.link.sendEnvelope(slot.id, envelope);
      return;
    }
    if (slot.up && slot.current) this.inFlight.track(slot.id, envelope);
    try {
      slot.deliverEnvelope(envelope);
    } catch (error) {
      // The master's own sends see the error directly; a worker's cannot, so its request is failed.
      if (sourceWorker === MASTER) throw error;
      this.failUndeliverable([envelope], error as Error);
    }
  }

  private deliverRecordTo(slot: WorkerSlot, target: number, body: Uint8Array, count: number, sourceWorker: number): void {
    if (this.replacementReplies.active && slot.replacement && target === slot.id) {
      // Rolling restart: this record may hold a reply for the replacement; look inside.
      for (const envelope of decodeEnvelopes(body)) this.deliverEnvelopeTo(slot, envelope, sourceWorker);
      return;
    }
    try {
      slot.deliver(target, body, count);
    } catch (error) {
      if (sourceWorker === MASTER) throw error;
      this.failUndeliverable(decodeEnvelopes(body), error as Error);
    }
  }

  /** Envelopes that could not be queued: tell each requester, log one-way losses. */
  private failUndeliverable(envelopes: Envelope[], error: Error): void {
    for (const envelope of envelopes) {
      if (envelope.kind !== Kind.Request) {
        log.warn('message.dropped', { method: envelope.method, from: envelope.fromWorker, error });
        continue;
      }
      const failure: Envelope = {
        kind: Kind.Failure, channel: envelope.channel, method: envelope.method, id: envelope.id,
        data: toWireError(error, this.origin), fromWorker: MASTER,
      };
      const to: Address = { server: envelope.fromServer, worker: envelope.fromWorker };
      try {
        this.route(to, failure);
      } catch {
        log.warn('reply.undeliverable', { method: envelope.method, to: envelope.fromWorker });
      }
    }
  }

  /** A worker's record: forward worker→worker traffic as is; decode only what is for the master. */
  private fromWorker(sourceId: number, target: number, body: Uint8Array, count: number, incarnation?: Incarnation): void {
    if (incarnation && this.slots.get(sourceId)?.replacement === incarnation) this.replacementReplies.noteRequests(sourceId, incarnation, body);
    if (target !== MASTER) {
      try {
        this.deliverLocal(target, body, sourceId, count);
      } catch (error) {
        this.failUndeliverable(decodeEnvelopes(body), error as Error);
      }
      return;
    }
    let envelopes: Envelope[];
    try {
      envelopes = decodeEnvelopes(body);
    } catch (error) {
      log.warn('envelope.malformed', { from: sourceId, error });
      return;
    }
    for (const envelope of envelopes) this.fromWorkerToMaster(sourceId, envelope);
  }

  private fromWorkerToMaster(sourceId: number, envelope: Envelope): void {
    this.inFlight.settled(sourceId, envelope);
    if (envelope.toServer !== undefined && envelope.toServer !== this.serverName) {
      try {
        this.routeRemote({ server: envelope.toServer, worker: envelope.toWorker ?? ANY_WORKER }, envelope);
      } catch (error) {
        this.failUndeliverable([envelope], error as Error);
      }
    } else if (envelope.channel === Channel.System && envelope.method.startsWith('bw.') && envelope.kind === Kind.Message) {
      this.onControl(sourceId, envelope);
    } else {
      this.dispatch(envelope);
    }
  }

  private onControl(sourceId: number, envelope: Envelope): void {
    if (envelope.method === Control.methods) {
      const notice = envelope.data as MethodsNotice;
      this.setOwner(notice.channel, notice.method, sourceId, notice.present);
    } else if (envelope.method === Control.configError) {
      void this.stopOnConfigError(String((envelope.data as { message?: unknown })?.message));
    } else if (envelope.method === Control.up) {
      const incarnation = this.incarnationOf(sourceId, envelope.data as number);
      const slot = this.slots.get(sourceId);
      if (incarnation && slot?.current === incarnation) slot.markUp();
    } else if (envelope.method === Control.ready) {
      const incarnation = this.incarnationOf(sourceId, envelope.data as number);
      if (incarnation) this.readyWaiters.get(incarnation.worker)?.();
    }
  }

  private incarnationOf(id: number, pid: number): Incarnation | undefined {
    const slot = this.slots.get(id);
    if (slot?.replacement?.worker.process.pid === pid) return slot.replacement;
    if (slot?.current?.worker.process.pid === pid) return slot.current;
    return undefined;
  }

  private setOwner(channel: number, method: string, workerId: number, present: boolean): void {
    const key = `${channel}:${method}`;
    const owners = (this.methodOwners.get(key) ?? []).filter((id) => id !== workerId);
    if (present) owners.push(workerId);
    if (owners.length) this.methodOwners.set(key, owners.sort((a, b) => a - b));
    else this.methodOwners.delete(key);
    // What waited for a worker to handle this method goes to it now, in arrival order.
    if (present) {
      this.ownerRestarting.delete(key);
      this.awaitingOwner.release(channel, method);
      this.releaseHeld(channel, method);
    }
  }

  /** Round-robin among workers that registered the method; the master itself only as a last resort. */
  private pickOwner(channel: number, method: string): number {
    const key = `${channel}:${method}`;
    const owners = this.methodOwners.get(key);
    if (!owners?.length) return MASTER;
    const turn = this.roundRobin.get(key) ?? 0;
    this.roundRobin.set(key, turn + 1);
    return owners[turn % owners.length];
  }


  // ---- old processes during a rolling restart -------------------------------------------

  /** Processes that gave their worker id to a replacement and are finishing their in-flight work. */
  private readonly retiring = new Set<Incarnation>();

  /**
   * An old process finishing its in-flight work after a rolling restart gave its id to the
   * replacement: its store answers (sent by pid) must still reach it, or an HTTP call awaiting a
   * write there hangs until the grace period kills the process.
   */
  private retiringByPid(pid: number): Incarnation | undefined {
    for (const incarnation of this.retiring) if (incarnation.worker.process.pid === pid) return incarnation;
    return undefined;
  }

  // ---- supervision ------------------------------------------------------------------------

  /** Forks a process for the slot's id; resolves when it reports ready. */
  private startIncarnation(slot: WorkerSlot, role: 'current' | 'replacement'): Promise<void> {
    const worker = cluster.fork({ BOXWIRE_WORKER_ID: String(slot.id), BOXWIRE_WORKER_COUNT: String(this.workerCount) });
    const link = new PipeLink(worker.process.stdio[LINK_FD] as Socket);
    const incarnation: Incarnation = { worker, link, startedAt: Date.now() };
    link.setReceiver((target, body, count) => this.fromWorker(slot.id, target, body, count, incarnation));
    slot[role] = incarnation;
    if (role === 'current') {
      slot.ready = false;
      slot.up = false;
      for (const [key, owners] of this.methodOwners) {
        const index = owners.indexOf(slot.id);
        if (index >= 0) owners.splice(index, 1);
        if (index >= 0 && owners.length === 0) this.ownerRestarting.add(key);
      }
    }
    worker.on('exit', (code, signal) => this.onExit(slot, incarnation, code, signal));
    return new Promise<void>((resolve) => {
      this.readyWaiters.set(worker, () => {
        this.readyWaiters.delete(worker);
        this.onReady(slot, incarnation);
        resolve();
      });
    });
  }

  private onReady(slot: WorkerSlot, incarnation: Incarnation): void {
    if (slot.replacement === incarnation) {
      // Rolling restart: the new process takes over the id, then the old one is stopped.
      const old = slot.current;
      slot.current = incarnation;
      slot.replacement = undefined;
      slot.ready = true;
      slot.markUp();
      this.replacementReplies.forget(incarnation);
      if (old) {
        this.retiring.add(old);
        this.stopIncarnation(old);
      }
    } else if (slot.current === incarnation) {
      slot.ready = true;
      slot.markUp();
    }
    // Every worker is back and none registered these methods again: what waited gets its answer
    // (NoHandlerError for requests) instead of waiting for its deadline.
    if (this.ownerRestarting.size > 0 && [...this.slots.values()].every((s) => s.ready)) {
      const keys = [...this.ownerRestarting];
      this.ownerRestarting.clear();
      for (const key of keys) {
        const at = key.indexOf(':');
        this.awaitingOwner.release(Number(key.slice(0, at)), key.slice(at + 1));
      }
    }
    log.info('worker.ready', { workerId: slot.id, pid: incarnation.worker.process.pid });
  }

  private onExit(slot: WorkerSlot, incarnation: Incarnation, code: number | null, signal: string | null): void {
    incarnation.link.close();
    this.retiring.delete(incarnation);
    this.readyWaiters.delete(incarnation.worker);
    this.replacementReplies.forget(incarnation);
    const wasCurrent = slot.current === incarnation;
    const wasReplacement = slot.replacement === incarnation;
    for (const listener of this.processExitListeners) listener(slot.id, incarnation.worker.process.pid!);
    if (!wasCurrent && !wasReplacement) return; // an old incarnation we stopped on purpose
    if (this.stopping) {
      if (wasCurrent) slot.current = undefined;
      return;
    }
    const uptimeMs = Date.now() - incarnation.startedAt;
    const delayMs = slot.backoff.next(uptimeMs);
    slot.restarts++;
    log.error('worker.crashed', { workerId: slot.id, pid: incarnation.worker.process.pid, code, signal, uptimeMs, restartInMs: delayMs });
    if (wasReplacement) {
      slot.replacement = undefined;
      slot.restartTimer = setTimeout(() => this.retryReplacement(slot), delayMs);
      return;
    }
    slot.current = undefined;
    slot.ready = false;
    slot.up = false;
    this.announceWorkerDown(slot.id);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!this.stopping) void this.startIncarnation(slot, 'current');
    }, delayMs);
  }

  private retryReplacement(slot: WorkerSlot): void {
    slot.restartTimer = undefined;
    if (this.stopping) return;
    const waiter = this.replacementWaiters.get(slot);
    void this.startIncarnation(slot, 'replacement').then(waiter);
  }

  private readonly replacementWaiters = new Map<WorkerSlot, () => void>();

  /** Requests pending on a dead worker reject at once, here and in every other worker. */
  private announceWorkerDown(id: number): void {
    const peer = `/${id}`;
    this.peerDown((key) => key === peer, `worker ${id}`);
    const notice: Envelope = { kind: Kind.Message, channel: Channel.System, method: Control.peerDown, data: { worker: id }, id: 0, fromWorker: MASTER };
    for (const other of this.slots.values()) {
      if (other.id !== id) other.current?.link.sendEnvelope(other.id, notice);
    }
    for (const listener of this.workerDownListeners) listener(id);
    this.failInFlight(id);
  }

  /**
   * Requests the dead worker took through this master: each requester rejects them at once
   * (PeerDownError). Those addressed to that very worker from other servers are pending there as
   * `<this server>/<id>`: every linked server's master and workers are told.
   */
  private failInFlight(id: number): void {
    if (this.serverName && this.serverRouter?.connectedNames) {
      const down: WorkerDownNotice = { server: this.serverName, worker: id };
      for (const server of this.serverRouter.connectedNames()) {
        for (const worker of [MASTER, ALL_WORKERS]) {
          try {
            this.serverRouter.forward(server, worker, { kind: Kind.Message, channel: Channel.System, method: WORKER_DOWN, data: down, id: 0, fromWorker: MASTER });
          } catch (error) {
            log.warn('message.dropped', { method: WORKER_DOWN, to: server, error });
          }
        }
      }
    }
    const notice: RequestsDownNotice = { ids: [], who: this.serverName ? `worker ${id} of server '${this.serverName}'` : `worker ${id}` };
    for (const { requester, ids } of this.inFlight.takeAll(id)) {
      const envelope: Envelope = { kind: Kind.Message, channel: Channel.System, method: REQUESTS_DOWN, data: { ...notice, ids }, id: 0, fromWorker: MASTER };
      try {
        this.route({ server: requester.server || undefined, worker: requester.worker }, envelope);
      } catch (error) {
        log.warn('reply.undeliverable', { method: REQUESTS_DOWN, to: requester, error });
      }
    }
  }

  private sendControl(incarnation: Incarnation, workerId: number, method: string, data: unknown = null): void {
    incarnation.link.sendEnvelope(workerId, { kind: Kind.Message, channel: Channel.System, method, data, id: 0, fromWorker: MASTER });
    incarnation.link.flush();
  }

  /** Asks a process to stop gracefully; kills it when the grace period runs out. */
  private stopIncarnation(incarnation: Incarnation): Promise<void> {
    const { worker } = incarnation;
    if (worker.isDead()) return Promise.resolve();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.sendControl(incarnation, this.slotIdOf(worker), Control.stop);
    const killer = setTimeout(() => {
      log.warn('worker.kill_after_grace', { pid: worker.process.pid, graceMs: this.gracefulTimeoutMs });
      worker.process.kill('SIGKILL');
    }, this.gracefulTimeoutMs);
    return exited.finally(() => clearTimeout(killer));
  }

  private slotIdOf(worker: Worker): number {
    for (const slot of this.slots.values()) {
      if (slot.current?.worker === worker || slot.replacement?.worker === worker) return slot.id;
    }
    return 0;
  }

  /** SIGUSR2: replace every worker, one at a time; each old one stops only after its replacement is ready. */
  rollingRestart(): Promise<void> {
    if (this.rolling) return this.rolling;
    log.info('cluster.rolling_restart', { workers: this.workerCount });
    this.rolling = (async () => {
      // Out of the load balancers' rotation first, so no new request reaches a process we stop.
      await drain('draining');
      for (const slot of this.slots.values()) {
        if (this.stopping) break;
        const old = slot.current;
        await new Promise<void>((resolve) => {
          this.replacementWaiters.set(slot, resolve);
          void this.startIncarnation(slot, 'replacement').then(resolve);
        });
        this.replacementWaiters.delete(slot);
        if (old && old !== slot.current) await this.waitExit(old);
      }
    })().finally(() => {
      this.rolling = undefined;
      if (!this.stopping) setServerState('ready');
      log.info('cluster.rolling_restart_done', { pids: this.workerPids() });
    });
    return this.rolling;
  }

  private waitExit(incarnation: Incarnation): Promise<void> {
    if (incarnation.worker.isDead()) return Promise.resolve();
    return new Promise((resolve) => incarnation.worker.once('exit', () => resolve()));
  }

  /** A configuration error (from a worker, or the master's own mesh): one line, every worker stopped, exit 1. */
  async stopOnConfigError(message: string): Promise<void> {
    if (this.stopping) return;
    printConfigError(message);
    await this.shutdown(false);
    process.exit(1);
  }

  /** SIGTERM/SIGINT: stop every worker gracefully, run the master's hooks, exit 0. */
  async shutdown(exit = true): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    log.info('cluster.stopping', { workers: this.workerCount });
    await drain('stopping');
    const stops: Promise<void>[] = [];
    for (const slot of this.slots.values()) {
      clearTimeout(slot.restartTimer);
      if (slot.replacement) stops.push(this.stopIncarnation(slot.replacement));
      if (slot.current) stops.push(this.stopIncarnation(slot.current));
    }
    await Promise.all(stops);
    await runShutdownHooks();
    log.info('cluster.stopped', {});
    if (exit) process.exit(0);
  }
}
