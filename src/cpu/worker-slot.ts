import type { Worker } from 'node:cluster';
import { encodeEnvelope, type Envelope } from '../core/envelope.js';
import { Outbox, type OutboxLimits } from '../core/outbox.js';
import { CrashBackoff } from './backoff.js';
import type { PipeLink } from './pipe-link.js';

/** A process incarnation behind a worker id. */
export interface Incarnation {
  worker: Worker;
  link: PipeLink;
  startedAt: number;
}

/**
 * Everything the master keeps for one stable worker id: the serving process, a replacement being
 * started during a rolling restart, and the outbox that holds messages while the id has no
 * process that is up (forked but not yet listening, crashed, restarting). A process is up as soon
 * as its runtime exists, before its work() runs: it takes messages from then on and holds those
 * whose method it has no handler for yet (see Endpoint.beginStartUp).
 */
export class WorkerSlot {
  current?: Incarnation;
  replacement?: Incarnation;
  /** The current process is up: deliver to it directly. */
  up = false;
  /** The current process finished its work() (what supervision and the mesh wait for). */
  ready = false;
  restartTimer?: NodeJS.Timeout;
  readonly outbox: Outbox;
  readonly backoff = new CrashBackoff();

  constructor(readonly id: number, limits?: OutboxLimits) {
    this.outbox = new Outbox(`worker ${id}`, limits);
  }

  /** Forwards a record now when a process that is up serves this id, else queues it (OverflowError when full). */
  deliver(target: number, body: Uint8Array, count: number): void {
    if (this.up && this.current) this.current.link.send(target, body, count);
    else this.outbox.push(target, body, count);
  }

  /** Sends an envelope of the master's own, batched with the rest of this tick, or queues it. */
  deliverEnvelope(envelope: Envelope): void {
    if (this.up && this.current) this.current.link.sendEnvelope(this.id, envelope);
    else this.outbox.push(this.id, encodeEnvelope(envelope), 1);
  }

  /** Marks the current process up and hands it everything that waited. */
  markUp(): void {
    this.up = true;
    const link = this.current!.link;
    this.outbox.drain((target, body, count) => link.send(target, body, count));
  }
}
