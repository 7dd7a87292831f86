import { randomUUID } from 'node:crypto';
import { log } from '../../core/logger.js';
import { packOperations } from './operation-wire.js';
import { operationChunks, snapshotHead, snapshotParts, type ReplicaSnapshot } from './snapshot.js';
import type { Operation } from './operation.js';
import type { Replica } from './replica.js';
import type { ReplicationMessage, ReplicationTransport } from './replication.js';

/** Packing and sending repair chunks per event-loop turn, at most about this long. */
const SEND_BUDGET_MS = 10;

/**
 * Anti-entropy: on every (re)connect, and every few seconds while connected, peers exchange
 * per-origin sequence digests; each sends what the other lacks (operations from its log, or a
 * snapshot when they are already folded into its base). This repairs partitions, restarts,
 * dropped sends and partial partitions (operations of any origin are relayed).
 */
export class AntiEntropy {
  /** Peers a snapshot is being sent to now: one transfer at a time per peer (parts of two would mix). */
  private readonly sendingSnapshot = new Set<string>();

  constructor(
    private readonly replica: Replica,
    private readonly transport: ReplicationTransport,
    private readonly send: (peer: string, message: ReplicationMessage) => unknown,
    /** This replica's operations up to `seq` of `origin` are already on their way to `peer`. */
    private readonly inFlight: (peer: string) => { origin: string; seq: number } | undefined = () => undefined,
  ) {}

  /**
   * Starts an exchange with `peer`: tell it what we hold and ask for its digest. Not while a
   * snapshot merges here: the digest would still show what the merge is bringing, and the peer
   * would send another snapshot (the next sweep asks again).
   */
  open(peer: string): void {
    if (this.replica.mergeUnderWay) return;
    this.send(peer, { t: 'digest', digest: this.replica.digest(), answer: true });
  }

  /**
   * A peer told us what it holds: send what it lacks, and answer with our digest if asked. The
   * answer goes out behind everything sent: a peer that is catching up takes it as "caught up".
   */
  onDigest(peer: string, digest: Record<string, number>, answer: boolean): void {
    const reply = () => {
      if (answer) this.send(peer, { t: 'digest', digest: this.replica.digest(), answer: false });
    };
    const missing = this.replica.missingFor(digest);
    if (missing === 'snapshot') {
      // The transfer under way answers too (its digest goes out behind it).
      if (this.sendingSnapshot.has(peer)) return;
      this.sendingSnapshot.add(peer);
      log.info('store.send_snapshot', { to: peer });
      return this.sendInTurns(peer, snapshotMessages(this.replica.snapshot(), randomUUID()), () => {
        this.sendingSnapshot.delete(peer);
        reply();
      });
    }
    // A deliberately broken build for the chaos test that must catch it (test/chaos/broken-build.test.ts).
    if (process.env.BOXWIRE_TEST_BREAK_ANTI_ENTROPY === '1') return reply();
    const sent = this.inFlight(peer);
    const lacking = sent ? missing.filter((op) => op.origin !== sent.origin || op.seq > sent.seq) : missing;
    if (!lacking.length) return reply();
    log.debug('store.send_missing', { to: peer, operations: lacking.length });
    this.sendInTurns(peer, opsMessages(lacking), reply);
  }

  /**
   * Builds and sends messages for about SEND_BUDGET_MS, then yields and goes on in the next turn
   * (a large repair or snapshot never blocks the event loop for long); calls `done` after the last.
   */
  private sendInTurns(peer: string, messages: Iterator<ReplicationMessage>, done: () => void, next = messages.next()): void {
    const deadline = performance.now() + SEND_BUDGET_MS;
    while (!next.done) {
      this.send(peer, next.value);
      next = messages.next();
      // Built already; it goes first next turn. `done` runs in this turn when nothing is left.
      if (!next.done && performance.now() > deadline) {
        const carried = next;
        return void setImmediate(() => this.sendInTurns(peer, messages, done, carried));
      }
    }
    done();
  }

  /** Periodic repair with every connected peer. */
  sweep(): void {
    for (const peer of this.transport.connected()) this.open(peer);
  }
}

/** Operations as `ops` messages of about CHUNK_BYTES, cut and packed one at a time. */
function* opsMessages(ops: Operation[]): Generator<ReplicationMessage> {
  for (const chunk of operationChunks(ops)) yield { t: 'ops', packed: packOperations(chunk) };
}

/** A snapshot as a transfer: its parts, then the head that closes it. */
function* snapshotMessages(snapshot: ReplicaSnapshot, transfer: string): Generator<ReplicationMessage> {
  let parts = 0;
  for (const part of snapshotParts(snapshot, transfer)) {
    parts++;
    yield { t: 'snapshot-part', part };
  }
  yield { t: 'snapshot', snapshot: snapshotHead(snapshot), transfer, parts };
}
