import type { Stamp } from '../../core/hlc.js';
import type { ReplicaSnapshot } from './snapshot.js';
import type { SnapshotPart } from './snapshot.js';

/** What replicas (one per server) say to each other. */
export type ReplicationMessage =
  /** New operations, in per-origin order, packed once for every peer (see packOperations). */
  | { t: 'ops'; packed: Uint8Array }
  /** Periodic: my sequence and clock (for stability), my watermark, my physical time (for cluster time). */
  | { t: 'beat'; origin?: string; seq: number; stamp: Stamp; mark: Stamp; physical: number }
  /** Anti-entropy: what I hold per origin; `answer` asks the peer to send its own digest back. */
  | { t: 'digest'; digest: Record<string, number>; answer: boolean }
  /** One part of a snapshot transfer (base entries or log operations). */
  | { t: 'snapshot-part'; part: SnapshotPart }
  /** Everything, for a peer that lost its memory or is behind my folded base: closes a transfer. */
  | { t: 'snapshot'; snapshot: ReplicaSnapshot; transfer: string; parts: number };

/**
 * The replication seam: how a replica reaches the others. SERVER_CLUSTERING's mesh is one
 * transport; a single server (no clustering, or CPU clustering only) has none.
 */
export interface ReplicationTransport {
  /** This replica's name (the server name). */
  readonly self: string;
  /** Every replica in the cluster, this one included. */
  members(): string[];
  /** Whether peers can be reached at all yet (SERVER_CLUSTERING opens its port after work()). */
  networkOpen(): boolean;
  /** Peers with a live link now. */
  connected(): string[];
  /** Sends to one peer; may throw (OverflowError when its outbox is full); anti-entropy repairs the loss. */
  send(peer: string, message: ReplicationMessage): void;
  onMessage(handler: (from: string, message: ReplicationMessage) => void): void;
  onPeerUp(handler: (peer: string) => void): void;
  onPeerDown(handler: (peer: string) => void): void;
}
