import { Endpoint, type Address, type Registries } from '../core/endpoint.js';
import { ALL_WORKERS, ANY_WORKER, MASTER, encodeEnvelope, type Envelope } from '../core/envelope.js';
import { UnknownPeerError } from '../core/errors.js';

/**
 * One process that is both master and worker 1 of 1: no clustering, one core, or `workers: 0`.
 * Everything local is delivered to itself, still encoded (so data is copied and validated the
 * same way) and still asynchronous (so code behaves as it will when clustered).
 */
export class SoloRuntime extends Endpoint {
  readonly workerCount = 1;

  constructor(registries?: Registries) {
    super(1, registries);
  }

  protected route(to: Address, envelope: Envelope): void {
    if (to.server !== undefined && to.server !== this.serverName) this.routeRemote(to, envelope);
    else {
      const body = encodeEnvelope(envelope);
      setImmediate(() => this.receive(body));
    }
  }

  override readyWorkerIds(): number[] {
    return [1];
  }

  override workerPids(): Record<number, number | undefined> {
    return { 1: process.pid };
  }

  /** A record from another server: all handled here (the master, worker 1, any or all workers are this process). */
  override deliverFromServer(target: number, body: Uint8Array): void {
    if (target !== MASTER && target !== 1 && target !== ANY_WORKER && target !== ALL_WORKERS) {
      throw new UnknownPeerError(`there is no worker ${target} on server '${this.serverName}' (it runs without workers: worker 1 only)`);
    }
    this.receive(body); // already asynchronous to the sender: no extra turn of the loop
  }
}
