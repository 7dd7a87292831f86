import { Endpoint, type Address, type Registries } from '../core/endpoint.js';
import { encodeEnvelope, type Envelope } from '../core/envelope.js';

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
    else this.deliverLocal(encodeEnvelope(envelope));
  }

  /** A record for this server (from itself or from a server link): all handled here. */
  deliverLocal(body: Uint8Array): void {
    setImmediate(() => this.receive(body));
  }
}
