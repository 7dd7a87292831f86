import cluster from 'node:cluster';
import { Endpoint, type Address, type Registries } from '../core/endpoint.js';
import { Channel, Kind, MASTER, encodeEnvelope, type Envelope } from '../core/envelope.js';
import { log } from '../core/logger.js';
import { Control, isWorkerControl, type MethodsNotice } from './control.js';
import { Socket } from 'node:net';
import { LINK_FD, PipeLink } from './pipe-link.js';
import { runShutdownHooks, runStopAcceptingHooks } from './shutdown-hooks.js';
import { drainHttpServers, trackHttpServers } from './http-drain.js';

/**
 * A forked worker: everything it sends goes to its master over one pipe link (the master routes);
 * everything the master delivers is dispatched here.
 */
export class WorkerRuntime extends Endpoint {
  private readonly link: PipeLink;
  private stopping = false;

  constructor(workerId: number, readonly workerCount: number, registries?: Registries) {
    super(workerId, registries);
    this.link = new PipeLink(new Socket({ fd: LINK_FD, readable: true, writable: true }), () => void this.stop('master went away'));
    this.link.setReceiver((_target, body) => this.receive(body));
    // Before work() creates any server: a graceful stop must find them (see http-drain.ts).
    trackHttpServers();
    // Up before work(): messages arrive from now on; those whose method has no handler yet wait
    // here until one is registered or work() is done (reportReady).
    this.beginStartUp();
    this.control(Control.up, process.pid);
    // The master routes "any worker that handles it" by these notices. System methods are
    // addressed to one process (the master, a worker id, a pid), never by who handles them.
    for (const channel of [Channel.Cpu, Channel.Server]) {
      const registry = this.registries[channel];
      for (const method of registry.methods()) this.announceMethod(channel, method, true);
      registry.registrations.on('change', (method, present) => this.announceMethod(channel, method, present));
    }
    // The master coordinates stopping; Ctrl-C in a terminal reaches the whole process group.
    process.on('SIGINT', () => {});
    process.on('SIGTERM', () => void this.stop('SIGTERM'));
    process.on('disconnect', () => void this.stop('master went away'));
  }

  protected route(to: Address, envelope: Envelope): void {
    if (to.server !== undefined && to.server !== this.serverName) this.link.sendEnvelope(MASTER, envelope);
    else if (to.worker === this.workerId) {
      const body = encodeEnvelope(envelope);
      setImmediate(() => this.receive(body));
    } else this.link.sendEnvelope(to.worker, envelope);
  }

  /**
   * A configuration error: the master prints it once, stops every worker and exits 1 (a restart
   * would fail the same way). Should the master not act, this worker still exits 1.
   */
  reportConfigError(message: string): void {
    this.control(Control.configError, { message });
    this.link.flush();
    setTimeout(() => process.exit(1), 10_000).unref();
  }

  /** Tells the master that work() is done; what still waits for a handler gets the no-handler answer. */
  reportReady(): void {
    this.finishStartUp();
    this.control(Control.ready, process.pid);
  }

  private announceMethod(channel: Channel, method: string, present: boolean): void {
    const notice: MethodsNotice = { channel, method, present };
    this.control(Control.methods, notice);
  }

  private control(method: string, data: unknown): void {
    this.link.sendEnvelope(MASTER, { kind: Kind.Message, channel: Channel.System, method, data, id: 0, fromWorker: this.workerId });
  }

  /** What the master delivers: the runtime's own notices are handled here, the rest dispatched. */
  override dispatch(envelope: Envelope): void {
    if (envelope.channel !== Channel.System || envelope.kind !== Kind.Message || !isWorkerControl(envelope.method)) {
      super.dispatch(envelope);
    } else if (envelope.method === Control.peerDown) {
      const { worker } = envelope.data as { worker: number };
      this.peerDown((peer) => peer === `/${worker}`, `worker ${worker}`);
    } else if (envelope.method === Control.stop) {
      void this.stop('asked by master');
    }
  }

  /**
   * Graceful stop: stop accepting, let running request handlers answer, end HTTP connections
   * without dropping a request on its way (http-drain.ts; cluster's own disconnect would), close
   * the remaining servers, run shutdown hooks, exit 0.
   */
  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    log.info('worker.stopping', { workerId: this.workerId, reason });
    await runStopAcceptingHooks();
    await drainHttpServers();
    await this.whenIdle();
    this.link.flush();
    if (cluster.worker?.isConnected()) {
      await new Promise<void>((resolve) => {
        cluster.worker!.once('disconnect', () => resolve());
        cluster.worker!.disconnect();
      });
    }
    await runShutdownHooks();
    process.exit(0);
  }
}
