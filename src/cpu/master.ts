import { Endpoint, FROM_ANOTHER_SERVER, type Address, type Registries, type WorkerSlotView } from '../core/endpoint.js';
import { ALL_WORKERS, ANY_WORKER, Channel, Kind, MASTER, decodeEnvelopes, encodeEnvelope, type Envelope } from '../core/envelope.js';
import { log } from '../core/logger.js';
import type { OutboxLimits } from '../core/outbox.js';
import { printConfigError } from './config-failure.js';
import { Control, isMasterControl, type MethodsNotice } from './control.js';
import { MethodOwners } from './method-owners.js';
import { WorkerSupervisor } from './worker-supervisor.js';
import type { Incarnation, WorkerSlot } from './worker-slot.js';
import { InFlightRequests } from './in-flight-requests.js';
import { REQUESTS_DOWN, WORKER_DOWN, type RequestsDownNotice, type WorkerDownNotice } from '../core/requests-down.js';

export interface MasterOptions {
  workers: number;
  /** How long a stopping worker may take before it is killed (default 10 s). */
  gracefulTimeoutMs?: number;
  outbox?: OutboxLimits;
}

/**
 * The master process as an endpoint: the router. It routes every envelope between this server's
 * workers (without decoding worker-to-worker traffic), to and from the server links, and to
 * "any worker that handles the method"; its WorkerSupervisor forks the workers with stable ids,
 * restarts them on crash, rolls them on SIGUSR2 and stops them on SIGTERM/SIGINT.
 */
export class Master extends Endpoint {
  readonly workerCount: number;
  private readonly supervisor: WorkerSupervisor;
  private readonly owners = new MethodOwners();
  private readonly workerDownListeners = new Set<(workerId: number) => void>();
  private readonly processExitListeners = new Set<(workerId: number, pid: number) => void>();
  /** Requests this master routed to a worker process itself (to "any worker", from other servers). */
  private readonly inFlight = new InFlightRequests(() => this.serverName);

  constructor(options: MasterOptions, registries?: Registries) {
    super(MASTER, registries);
    this.workerCount = options.workers;
    this.supervisor = new WorkerSupervisor(options, {
      fromWorker: (id, target, body, count, incarnation) => this.fromWorker(id, target, body, count, incarnation),
      replaced: (id) => this.owners.workerReplaced(id),
      allReady: () => this.owners.releaseRestarting(),
      down: (id) => this.workerDown(id),
      exited: (id, pid) => this.processExitListeners.forEach((listener) => listener(id, pid)),
    });
    // Until every worker's work() is done, what no process handles yet waits (see dispatch).
    this.beginStartUp();
  }

  /** Forks every worker; resolves once each has reported ready (its work() done) for the first time. */
  async start(): Promise<void> {
    try {
      await this.supervisor.start();
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
    super.adoptHeld(previous, (envelope) => this.routeEnvelope(ANY_WORKER, envelope, FROM_ANOTHER_SERVER));
  }

  // ---- the process contract (see Endpoint) -----------------------------------------------

  override readyWorkerIds(): number[] {
    return this.supervisor.readyWorkerIds();
  }

  override workerSlots(): readonly WorkerSlotView[] {
    return [...this.supervisor.slots.values()];
  }

  override deliverFromServer(target: number, body: Uint8Array, count: number): void {
    this.deliverRecord(target, body, FROM_ANOTHER_SERVER, count);
  }

  override onWorkerDown(listener: (workerId: number) => void): () => void {
    this.workerDownListeners.add(listener);
    return () => void this.workerDownListeners.delete(listener);
  }

  override onProcessExit(listener: (workerId: number, pid: number) => void): () => void {
    this.processExitListeners.add(listener);
    return () => void this.processExitListeners.delete(listener);
  }

  /** Straight to the process `pid` serving `workerId` (current, replacement or retiring), bypassing the outbox. */
  override sendToProcess(workerId: number, pid: number, body: Uint8Array): boolean {
    const incarnation = this.supervisor.processByPid(workerId, pid);
    if (!incarnation || incarnation.worker.isDead()) return false;
    incarnation.link.send(workerId, body, 1);
    // The caller already batched a whole tick; writing now saves the worker an event-loop turn.
    incarnation.link.flush();
    return true;
  }

  override workerPids(): Record<number, number | undefined> {
    return this.supervisor.workerPids();
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
      for (const slot of this.supervisor.slots.values()) if (slot.id !== sourceWorker) this.deliverEnvelopeTo(slot, envelope, sourceWorker);
    } else if (target === ANY_WORKER) {
      this.routeToAnyWorker(envelope, sourceWorker);
    } else {
      this.deliverEnvelopeTo(this.supervisor.slotFor(target), envelope, sourceWorker);
    }
  }

  private routeToAnyWorker(envelope: Envelope, sourceWorker: number): void {
    const owner = this.owners.pick(envelope.channel, envelope.method);
    const again = () => this.routeEnvelope(ANY_WORKER, envelope, sourceWorker);
    if (owner !== MASTER) this.deliverEnvelopeTo(this.supervisor.slots.get(owner)!, envelope, sourceWorker);
    else if (this.registries[envelope.channel].has(envelope.method)) setImmediate(() => this.dispatch(envelope));
    // No worker handles it yet while they start: wait for one to register it (a methods notice).
    else if (this.held) this.held.hold(envelope, again);
    // Its worker is being re-forked: wait for it (requests stay bound by their deadline).
    else if (!this.owners.holdForRestarting(envelope, again)) setImmediate(() => this.dispatch(envelope));
  }

  /**
   * Delivers a record (a batch of envelopes) addressed to this server: to the master itself, one
   * worker, any worker that handles each method, or every worker but the sender. Worker-to-worker
   * records are forwarded without decoding.
   */
  private deliverRecord(target: number, body: Uint8Array, sourceWorker: number, count: number): void {
    if (target === MASTER) {
      this.receive(body);
    } else if (target === ALL_WORKERS) {
      for (const slot of this.supervisor.slots.values()) if (slot.id !== sourceWorker) this.deliverRecordTo(slot, target, body, count, sourceWorker);
    } else if (target === ANY_WORKER) {
      for (const envelope of decodeEnvelopes(body)) this.routeEnvelope(ANY_WORKER, envelope, sourceWorker);
    } else {
      this.deliverRecordTo(this.supervisor.slotFor(target), target, body, count, sourceWorker);
    }
  }

  private deliverEnvelopeTo(slot: WorkerSlot, envelope: Envelope, sourceWorker: number): void {
    const replies = this.supervisor.replacementReplies;
    const replacement = replies.active ? replies.take(slot.id, envelope) : undefined;
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
      this.failUndeliverable([envelope], error);
    }
  }

  private deliverRecordTo(slot: WorkerSlot, target: number, body: Uint8Array, count: number, sourceWorker: number): void {
    if (this.supervisor.replacementReplies.active && slot.replacement && target === slot.id) {
      // Rolling restart: this record may hold a reply for the replacement; look inside.
      for (const envelope of decodeEnvelopes(body)) this.deliverEnvelopeTo(slot, envelope, sourceWorker);
      return;
    }
    try {
      slot.deliver(target, body, count);
    } catch (error) {
      if (sourceWorker === MASTER) throw error;
      this.failUndeliverable(decodeEnvelopes(body), error);
    }
  }

  /** Envelopes that could not be queued: tell each requester, log one-way losses. */
  private failUndeliverable(envelopes: Envelope[], error: unknown): void {
    for (const envelope of envelopes) {
      if (envelope.kind === Kind.Request) this.failRequest(envelope, error);
      else log.warn('message.dropped', { method: envelope.method, from: envelope.fromWorker, error });
    }
  }

  /** A worker's record: forward worker→worker traffic as is; decode only what is for the master. */
  private fromWorker(sourceId: number, target: number, body: Uint8Array, count: number, incarnation: Incarnation): void {
    if (this.supervisor.slots.get(sourceId)?.replacement === incarnation) this.supervisor.replacementReplies.noteRequests(sourceId, incarnation, body);
    if (target !== MASTER) {
      try {
        this.deliverRecord(target, body, sourceId, count);
      } catch (error) {
        this.failUndeliverable(decodeEnvelopes(body), error);
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
        this.failUndeliverable([envelope], error);
      }
    } else if (envelope.channel === Channel.System && envelope.kind === Kind.Message && isMasterControl(envelope.method)) {
      this.onControl(sourceId, envelope);
    } else {
      this.dispatch(envelope);
    }
  }

  /** The runtime's own notices from a worker (see Control): consumed here, never dispatched. */
  private onControl(sourceId: number, envelope: Envelope): void {
    if (envelope.method === Control.methods) {
      const { channel, method, present } = envelope.data as MethodsNotice;
      this.owners.set(channel, method, sourceId, present);
      // What waited (during start-up) for a worker to handle this method goes to it now, in order.
      if (present) this.releaseHeld(channel, method);
    } else if (envelope.method === Control.configError) {
      void this.stopOnConfigError(String((envelope.data as { message?: unknown })?.message));
    } else if (envelope.method === Control.up) {
      this.supervisor.onUp(sourceId, envelope.data as number);
    } else if (envelope.method === Control.ready) {
      this.supervisor.onReadyNotice(sourceId, envelope.data as number);
    }
  }

  /** Requests pending on a dead worker reject at once (the supervisor told the other workers). */
  private workerDown(id: number): void {
    this.peerDown((key) => key === `/${id}`, `worker ${id}`);
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

  // ---- stopping ---------------------------------------------------------------------------

  /** SIGUSR2: replace every worker, one at a time; each old one stops only after its replacement is ready. */
  rollingRestart(): Promise<void> {
    return this.supervisor.rollingRestart();
  }

  /** A configuration error (from a worker, or the master's own mesh): one line, every worker stopped, exit 1. */
  async stopOnConfigError(message: string): Promise<void> {
    if (this.supervisor.stopping) return;
    printConfigError(message);
    await this.shutdown(false);
    process.exit(1);
  }

  /** SIGTERM/SIGINT: stop every worker gracefully, run the master's hooks, exit 0. */
  async shutdown(exit = true): Promise<void> {
    if ((await this.supervisor.shutdown()) && exit) process.exit(0);
  }
}
