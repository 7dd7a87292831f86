import type { Worker } from 'node:cluster';
import { Outbox, type OutboxLimits } from '../core/outbox.js';
import { CrashBackoff } from './backoff.js';
import type { IpcLink } from './ipc-link.js';

/** A process incarnation behind a worker id. */
export interface Incarnation {
  worker: Worker;
  link: IpcLink;
  startedAt: number;
}

/**
 * Everything the master keeps for one stable worker id: the serving process, a replacement being
 * started during a rolling restart, and the outbox that holds messages while the id has no ready
 * process (starting, crashed, restarting).
 */
export class WorkerSlot {
  current?: Incarnation;
  replacement?: Incarnation;
  ready = false;
  restartTimer?: NodeJS.Timeout;
  readonly outbox: Outbox;
  readonly backoff = new CrashBackoff();

  constructor(readonly id: number, limits?: OutboxLimits) {
    this.outbox = new Outbox(`worker ${id}`, limits);
  }

  /** Delivers now when a ready process serves this id, else queues (throws OverflowError when full). */
  deliver(target: number, body: Uint8Array): void {
    if (this.ready && this.current) this.current.link.send(target, body);
    else this.outbox.push(target, body);
  }

  /** Marks the current process ready and hands it everything that waited. */
  markReady(): void {
    this.ready = true;
    const link = this.current!.link;
    this.outbox.drain((target, body) => link.send(target, body));
  }
}
