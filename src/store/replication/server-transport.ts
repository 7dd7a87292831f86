import { Channel, MASTER } from '../../core/envelope.js';
import { currentEndpoint } from '../../cpu/index.js';
import type { ServerMeshView } from '../../server/index.js';
import type { ReplicationMessage, ReplicationTransport } from './replication.js';
import { StoreMethods } from '../store-methods.js';

/**
 * Replication over SERVER_CLUSTERING: one System-channel message to the master of the other
 * server per batch. The mesh keeps one link per pair of servers, in order.
 */
export class ServerMeshTransport implements ReplicationTransport {
  readonly self: string;
  private handler: (from: string, message: ReplicationMessage) => void = () => {};

  constructor(private readonly mesh: ServerMeshView) {
    this.self = mesh.thisServerName;
  }

  members(): string[] {
    return this.mesh.serverNames();
  }

  networkOpen(): boolean {
    return this.mesh.opened();
  }

  connected(): string[] {
    return this.mesh.connectedServerNames();
  }

  send(peer: string, message: ReplicationMessage): void {
    currentEndpoint().message({ server: peer, worker: MASTER }, Channel.System, StoreMethods.replicate, { from: this.self, message });
  }

  /** Called by the store's System handler with what another server sent. */
  deliver(from: string, message: ReplicationMessage): void {
    this.handler(from, message);
  }

  onMessage(handler: (from: string, message: ReplicationMessage) => void): void {
    this.handler = handler;
  }

  onPeerUp(handler: (peer: string) => void): void {
    this.mesh.onServerUp(handler);
  }

  onPeerDown(handler: (peer: string) => void): void {
    this.mesh.onServerDown(handler);
  }
}
