import { log } from '../../core/logger.js';
import type { Operation } from './operation.js';
import { packOperations } from './operation-wire.js';
import type { ReplicationMessage, ReplicationTransport } from './replication.js';
import { chunkOperations } from './snapshot.js';

/**
 * Sends this replica's new operations to the connected peers, gathered per event-loop turn and
 * packed once for all of them. Keeps, per peer, this replica's own operations already sent on the
 * link that is up now: a link delivers in order while it stays up, so anti-entropy does not send
 * them again as "missing" (they are only in flight); a link that goes down or comes back up
 * forgets this. `null`: a send on this link was refused (outbox full), so nothing counts as in
 * flight until then.
 */
export class ReplicationSender {
  private readonly sentOnLink = new Map<string, { origin: string; seq: number } | null>();
  private readonly outgoing: Operation[] = [];
  private scheduled = false;

  constructor(
    private readonly transport: ReplicationTransport,
    /** The origin this replica writes under now. */
    private readonly origin: () => string,
  ) {
    transport.onPeerDown((peer) => this.sentOnLink.delete(peer));
  }

  /** A link (re)opened: nothing is in flight on it. */
  linkUp(peer: string): void {
    this.sentOnLink.delete(peer);
  }

  /** This replica's operations up to `seq` of `origin` on their way to `peer`, if any. */
  inFlight(peer: string): { origin: string; seq: number } | undefined {
    return this.sentOnLink.get(peer) ?? undefined;
  }

  /** Queues `op` for every connected peer (sent at the end of this turn). */
  replicate(op: Operation): void {
    this.outgoing.push(op);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Whether the message went onto the peer's link (a refused send is repaired by anti-entropy). */
  send(peer: string, message: ReplicationMessage): boolean {
    try {
      this.transport.send(peer, message);
      return true;
    } catch (error) {
      log.warn('store.replication_send_failed', { peer, kind: message.t, error, note: 'anti-entropy repairs it' });
      return false;
    }
  }

  private flush(): void {
    this.scheduled = false;
    const ops = this.outgoing.splice(0);
    if (!ops.length) return;
    // Only connected peers: anti-entropy sends the rest when a link comes (back) up.
    const peers = this.transport.connected();
    for (const chunk of chunkOperations(ops)) {
      const message: ReplicationMessage = { t: 'ops', packed: packOperations(chunk) };
      const last = chunk[chunk.length - 1];
      for (const peer of peers) {
        // After a refused send, nothing on this link counts as in flight until it goes down or up.
        if (!this.send(peer, message)) this.sentOnLink.set(peer, null);
        else if (last.origin === this.origin() && this.sentOnLink.get(peer) !== null) this.sentOnLink.set(peer, { origin: last.origin, seq: last.seq });
      }
    }
  }
}
