/**
 * Master side of the topology view: builds it from the config and the mesh, pushes it to every
 * worker on each server up/down and once a second (load changes), and answers a (re)started
 * worker's request for it. Workers never wait on the master per HTTP request.
 */
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ALL_WORKERS, Channel } from '../../core/envelope.js';
import { log } from '../../core/logger.js';
import { currentEndpoint, processRole, sharedRegistries } from '../../cpu/index.js';
import { onServerState, serverState } from '../../cpu/index.js';
import { setTopology, type TopologySnapshot } from './topology.js';
import { Kind, MASTER, encodeEnvelope, type Envelope } from '../../core/envelope.js';
import type { ClusterConfig } from '../../config/index.js';
import type { MeshView } from './mesh-view.js';
import { RoleMethods } from '../role-methods.js';

const PUSH_EVERY_MS = 1000;

export class TopologySource {
  private timer?: NodeJS.Timeout;
  private readonly connections = new Map<number, number>();
  private lastElu = performance.eventLoopUtilization();

  constructor(private readonly config: ClusterConfig, private readonly thisServer: string, private readonly mesh: MeshView) {}

  start(): void {
    sharedRegistries()[Channel.System].on(RoleMethods.topologyHello, (hello: { workerId: number; pid: number }) => this.sendTo(hello));
    sharedRegistries()[Channel.System].on(RoleMethods.connectionsReport, (report: { workerId: number; connections: number }) => {
      this.connections.set(report.workerId, report.connections);
      this.mesh.reportConnections([...this.connections.values()].reduce((a, b) => a + b, 0));
    });
    this.mesh.onChange(() => this.publish());
    onServerState(() => this.publish());
    this.timer = setInterval(() => this.publish(), PUSH_EVERY_MS);
    this.timer.unref();
    this.publish();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  snapshot(): TopologySnapshot {
    const connected = new Set(this.mesh.connected());
    return {
      at: Date.now(),
      thisServer: this.thisServer,
      serverState: serverState(),
      servers: Object.values(this.config.servers).map((server) => {
        const self = server.name === this.thisServer;
        return {
          name: server.name, host: server.host, webPort: server.webPort, roles: [...server.roles],
          self,
          live: self || connected.has(server.name),
          load: self ? this.ownLoad() : this.mesh.load(server.name),
          clockOffsetMs: self ? 0 : this.mesh.clockOffsetMs(server.name),
        };
      }),
    };
  }

  /** Same scale as the mesh's score for peers: machine load per core, the loop's busy share, clients / 1000. */
  private ownLoad(): number {
    const now = performance.eventLoopUtilization();
    const elu = performance.eventLoopUtilization(now, this.lastElu).utilization;
    this.lastElu = now;
    const clients = [...this.connections.values()].reduce((a, b) => a + b, 0);
    return Math.round((loadavg()[0] / availableParallelism() + elu + clients / 1000) * 1000) / 1000;
  }

  /** Straight to one starting worker process (the master holds ordinary messages until it is ready). */
  private sendTo(hello: { workerId: number; pid: number }): void {
    const envelope: Envelope = { kind: Kind.Message, channel: Channel.System, method: RoleMethods.topologyPush, data: this.snapshot(), id: 0, fromWorker: MASTER };
    if (currentEndpoint().sendToProcess(hello.workerId, hello.pid, encodeEnvelope(envelope))) return;
    this.publish();
  }

  private publish(): void {
    const snapshot = this.snapshot();
    // A solo process is its own worker: it reads the view directly.
    setTopology(snapshot);
    if (processRole() !== 'master') return;
    try {
      currentEndpoint().message({ worker: ALL_WORKERS }, Channel.System, RoleMethods.topologyPush, snapshot);
    } catch (error) {
      log.warn('topology.push_failed', { error });
    }
  }
}
