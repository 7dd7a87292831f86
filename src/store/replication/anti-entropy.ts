import { randomUUID } from 'node:crypto';
import { log } from '../../core/logger.js';
import { packOperations } from './operation-wire.js';
import { chunkOperations, splitSnapshot } from './snapshot.js';
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
  constructor(
    private readonly replica: Replica,
    private readonly transport: ReplicationTransport,
    private readonly send: (peer: string, message: ReplicationMessage) => unknown,
    /** This replica's operations up to `seq` of `origin` are already on their way to `peer`. */
    private readonly inFlight: (peer: string) => { origin: string; seq: number } | undefined = () => undefined,
  ) {}

  /** Starts an exchange with `peer`: tell it what we hold and ask for its digest. */
  open(peer: string): void {
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
      const transfer = randomUUID();
      const { parts, head } = splitSnapshot(this.replica.snapshot(), transfer);
      log.info('store.send_snapshot', { to: peer, parts: parts.length });
      for (const part of parts) this.send(peer, { t: 'snapshot-part', part });
      this.send(peer, { t: 'snapshot', snapshot: head, transfer });
      return reply();
    }
    // A deliberately broken build for the chaos test that must catch it (test/chaos/broken-build.test.ts).
    if (process.env.BOXWIRE_TEST_BREAK_ANTI_ENTROPY === '1') return reply();
    const sent = this.inFlight(peer);
    const lacking = sent ? missing.filter((op) => op.origin !== sent.origin || op.seq > sent.seq) : missing;
    if (!lacking.length) return reply();
    log.debug('store.send_missing', { to: peer, operations: lacking.length });
    this.sendChunks(peer, chunkOperations(lacking), 0, reply);
  }

  /**
   * Packs and sends chunks from `next` on for about SEND_BUDGET_MS, then yields and goes on in the
   * next turn (a large repair, a partition healing, never blocks the event loop for long); calls
   * `done` after the last.
   */
  private sendChunks(peer: string, chunks: Operation[][], next: number, done: () => void): void {
    const deadline = performance.now() + SEND_BUDGET_MS;
    while (next < chunks.length) {
      this.send(peer, { t: 'ops', packed: packOperations(chunks[next++]) });
      if (performance.now() > deadline) break;
    }
    if (next < chunks.length) setImmediate(() => this.sendChunks(peer, chunks, next, done));
    else done();
  }

  /** Periodic repair with every connected peer. */
  sweep(): void {
    for (const peer of this.transport.connected()) this.open(peer);
  }
}
