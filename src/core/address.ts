/** Addresses of messages and what a master shows of its workers: plain types the process contract (Endpoint) speaks. */
import { ALL_WORKERS, ANY_WORKER, type Envelope } from './envelope.js';
import type { Outbox } from './outbox.js';

/** Where a message goes: a worker (0 = master, or ANY_WORKER / ALL_WORKERS) on a server (omitted = this one). */
export interface Address {
  server?: string;
  worker: number;
}

/**
 * Carries envelopes to other servers; installed by SERVER_CLUSTERING in the process that owns
 * the links. `toWorker` is a worker id on that server, MASTER, or ANY_WORKER.
 */
export interface ServerRouter {
  forward(toServer: string, toWorker: number, envelope: Envelope): void;
  /** The servers linked right now. */
  connectedNames?(): string[];
}

/** What metrics read of one worker id a master supervises. */
export interface WorkerSlotView {
  readonly id: number;
  /** Its process finished work() and serves the id. */
  readonly ready: boolean;
  /** Times a process of this id exited unexpectedly and was re-forked. */
  readonly restarts: number;
  /** What waits for the id while it has no process that is up. */
  readonly outbox: Pick<Outbox, 'size' | 'byteSize' | 'overflows'>;
}

/** `from` of a record that came from another server (no local worker to skip or blame). */
export const FROM_ANOTHER_SERVER = -1;

export function describeAddress(address: Address): string {
  const worker = address.worker === 0 ? 'master' : address.worker === ANY_WORKER ? 'any worker' : address.worker === ALL_WORKERS ? 'all workers' : `worker ${address.worker}`;
  return address.server ? `${address.server} ${worker}` : worker;
}
