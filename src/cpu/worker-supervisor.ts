import cluster, { type Worker } from 'node:cluster';
import type { Socket } from 'node:net';
import { Channel, Kind, MASTER, type Envelope } from '../core/envelope.js';
import { UnknownPeerError } from '../core/errors.js';
import { log } from '../core/logger.js';
import type { OutboxLimits } from '../core/outbox.js';
import { Control } from './control.js';
import { forkedWorkerEnv } from './forked-worker.js';
import { drain, setServerState } from './lifecycle.js';
import { LINK_FD, PipeLink } from './pipe-link.js';
import { ReplacementReplies } from './replacement-replies.js';
import { runShutdownHooks } from './shutdown-hooks.js';
import { WorkerSlot, type Incarnation } from './worker-slot.js';

/** What the supervisor tells the router (the master endpoint) about the processes it runs. */
export interface SupervisedEvents {
  /** A record from a worker process. */
  fromWorker(workerId: number, target: number, body: Uint8Array, count: number, incarnation: Incarnation): void;
  /** A new process takes the id (first start, crash restart): it will announce its methods afresh. */
  replaced(workerId: number): void;
  /** Every worker id has a ready process again. */
  allReady(): void;
  /** A worker's process went away unexpectedly; it is being re-forked with backoff. */
  down(workerId: number): void;
  /** Any worker process exited, expected or not (an old one after a rolling restart too). */
  exited(workerId: number, pid: number): void;
}

export interface SupervisorOptions {
  workers: number;
  /** How long a stopping worker may take before it is killed (default 10 s). */
  gracefulTimeoutMs?: number;
  outbox?: OutboxLimits;
}

/**
 * The master's supervisor: one slot per stable worker id, a process forked for each, re-forked
 * with its id and exponential backoff when it crashes, replaced one at a time on a rolling
 * restart (the old process stops only once its replacement is ready), stopped gracefully.
 */
export class WorkerSupervisor {
  readonly workerCount: number;
  readonly slots = new Map<number, WorkerSlot>();
  /** Replies to requests a replacement process sent while it starts (see ReplacementReplies). */
  readonly replacementReplies = new ReplacementReplies();
  private readonly gracefulTimeoutMs: number;
  private stoppingNow = false;
  private rolling?: Promise<void>;
  private readonly readyWaiters = new Map<Worker, () => void>();
  private readonly replacementWaiters = new Map<WorkerSlot, () => void>();
  /** Processes that gave their worker id to a replacement and are finishing their in-flight work. */
  private readonly retiring = new Set<Incarnation>();

  constructor(options: SupervisorOptions, private readonly events: SupervisedEvents) {
    this.workerCount = options.workers;
    this.gracefulTimeoutMs = options.gracefulTimeoutMs ?? 10_000;
    for (let id = 1; id <= this.workerCount; id++) this.slots.set(id, new WorkerSlot(id, options.outbox));
  }

  get stopping(): boolean {
    return this.stoppingNow;
  }

  /** Forks every worker; resolves once each has reported ready (its work() done) for the first time. */
  async start(): Promise<void> {
    // stdio 4: the pipe that carries boxwire frames (see PipeLink); 3 is node:cluster's IPC.
    cluster.setupPrimary({ stdio: ['inherit', 'inherit', 'inherit', 'ipc', 'pipe'] });
    await Promise.all([...this.slots.values()].map((slot) => this.startIncarnation(slot, 'current')));
    if (!this.stoppingNow) setServerState('ready');
  }

  slotFor(target: number): WorkerSlot {
    const slot = this.slots.get(target);
    if (!slot) throw new UnknownPeerError(`there is no worker ${target} (this server runs workers 1..${this.workerCount})`);
    return slot;
  }

  readyWorkerIds(): number[] {
    return [...this.slots.values()].filter((slot) => slot.ready).map((slot) => slot.id);
  }

  workerPids(): Record<number, number | undefined> {
    return Object.fromEntries([...this.slots.values()].map((slot) => [slot.id, slot.current?.worker.process.pid]));
  }

  /**
   * The process `pid` serving `workerId`: current, replacement, or an old one finishing its
   * in-flight work after a rolling restart gave its id away (its store answers must still reach
   * it, or an HTTP call awaiting a write there hangs until the grace period kills it).
   */
  processByPid(workerId: number, pid: number): Incarnation | undefined {
    const slot = this.slots.get(workerId);
    if (slot?.current?.worker.process.pid === pid) return slot.current;
    if (slot?.replacement?.worker.process.pid === pid) return slot.replacement;
    for (const incarnation of this.retiring) if (incarnation.worker.process.pid === pid) return incarnation;
    return undefined;
  }

  /** The worker's runtime is listening (before its work()): deliver to it from now on. */
  onUp(workerId: number, pid: number): void {
    const incarnation = this.incarnationOf(workerId, pid);
    const slot = this.slots.get(workerId);
    if (incarnation && slot?.current === incarnation) slot.markUp();
  }

  /** The worker's work() is done. */
  onReadyNotice(workerId: number, pid: number): void {
    const incarnation = this.incarnationOf(workerId, pid);
    if (incarnation) this.readyWaiters.get(incarnation.worker)?.();
  }

  private incarnationOf(id: number, pid: number): Incarnation | undefined {
    const slot = this.slots.get(id);
    if (slot?.replacement?.worker.process.pid === pid) return slot.replacement;
    if (slot?.current?.worker.process.pid === pid) return slot.current;
    return undefined;
  }

  /** Forks a process for the slot's id; resolves when it reports ready. */
  private startIncarnation(slot: WorkerSlot, role: 'current' | 'replacement'): Promise<void> {
    const worker = cluster.fork(forkedWorkerEnv(slot.id, this.workerCount));
    const link = new PipeLink(worker.process.stdio[LINK_FD] as Socket);
    const incarnation: Incarnation = { worker, link, startedAt: Date.now() };
    link.setReceiver((target, body, count) => this.events.fromWorker(slot.id, target, body, count, incarnation));
    slot[role] = incarnation;
    if (role === 'current') {
      slot.ready = false;
      slot.up = false;
      this.events.replaced(slot.id);
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
    if ([...this.slots.values()].every((s) => s.ready)) this.events.allReady();
    log.info('worker.ready', { workerId: slot.id, pid: incarnation.worker.process.pid });
  }

  private onExit(slot: WorkerSlot, incarnation: Incarnation, code: number | null, signal: string | null): void {
    incarnation.link.close();
    this.retiring.delete(incarnation);
    this.readyWaiters.delete(incarnation.worker);
    this.replacementReplies.forget(incarnation);
    const wasCurrent = slot.current === incarnation;
    const wasReplacement = slot.replacement === incarnation;
    this.events.exited(slot.id, incarnation.worker.process.pid!);
    if (!wasCurrent && !wasReplacement) return; // an old incarnation we stopped on purpose
    if (this.stoppingNow) {
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
    this.announceDown(slot.id);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!this.stoppingNow) void this.startIncarnation(slot, 'current');
    }, delayMs);
  }

  private retryReplacement(slot: WorkerSlot): void {
    slot.restartTimer = undefined;
    if (this.stoppingNow) return;
    const waiter = this.replacementWaiters.get(slot);
    void this.startIncarnation(slot, 'replacement').then(waiter);
  }

  /** Every other worker rejects what it has pending on the dead one; then the router is told. */
  private announceDown(id: number): void {
    const notice: Envelope = { kind: Kind.Message, channel: Channel.System, method: Control.peerDown, data: { worker: id }, id: 0, fromWorker: MASTER };
    for (const other of this.slots.values()) {
      if (other.id !== id) other.current?.link.sendEnvelope(other.id, notice);
    }
    this.events.down(id);
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
        if (this.stoppingNow) break;
        const old = slot.current;
        await new Promise<void>((resolve) => {
          this.replacementWaiters.set(slot, resolve);
          void this.startIncarnation(slot, 'replacement').then(resolve);
        });
        this.replacementWaiters.delete(slot);
        if (old && old !== slot.current) await waitExit(old);
      }
    })().finally(() => {
      this.rolling = undefined;
      if (!this.stoppingNow) setServerState('ready');
      log.info('cluster.rolling_restart_done', { pids: this.workerPids() });
    });
    return this.rolling;
  }

  /** Stops every worker gracefully and runs the master's shutdown hooks; false when already stopping. */
  async shutdown(): Promise<boolean> {
    if (this.stoppingNow) return false;
    this.stoppingNow = true;
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
    return true;
  }
}

function waitExit(incarnation: Incarnation): Promise<void> {
  if (incarnation.worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => incarnation.worker.once('exit', () => resolve()));
}
