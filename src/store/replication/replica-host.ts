import { randomUUID } from 'node:crypto';
import { encode } from '../../core/codec.js';
import { HybridLogicalClock, physicalNow } from '../../core/hlc.js';
import { log } from '../../core/logger.js';
import { AntiEntropy } from './anti-entropy.js';
import { ChangeNotifier } from '../change-events.js';
import { ClusterClock } from './cluster-clock.js';
import { copyValue } from '../documents/document-values.js';
import { measure } from '../documents/document-size.js';
import type { FeedItem } from '../workers/feed.js';
import { checkDocumentSize, checkEntryCount, storeLimits } from '../limits.js';
import type { Operation } from './operation.js';
import { Replica, memberOf } from './replica.js';
import type { ReplicationMessage, ReplicationTransport } from './replication.js';
import { SnapshotAssembler } from './snapshot.js';
import { ReplicationInbox } from './replication-inbox.js';
import { ReplicationSender } from './replication-sender.js';
import { CatchUp } from './catch-up.js';
import { mergeInSlices } from './merge-slices.js';
import { SIZE_BOUND, createVerdictOf, isLive, type Entry } from '../documents/store-tables.js';
import { CreateSettling } from './create-settling.js';
import { applyUpdate, type Document } from '../documents/update-operators.js';
import type { WriteRequest, WriteResult } from '../workers/write-request.js';
import { toWireError, type WireError } from '../../core/errors.js';
import { operationToWire } from './operation-wire.js';
import { AnswerCode, WorkerFeeds, type FeedSink, type SpecialAnswer } from '../workers/worker-feeds.js';

const APPLIED: WriteResult = Object.freeze({ outcome: 'applied' });
const NOT_EXISTS: WriteResult = Object.freeze({ outcome: 'notExists' });

const TICK_MS = 100;
const BEAT_EVERY_TICKS = 2;
const SWEEP_EVERY_TICKS = 20;

/**
 * The replica of one server, in its master (or in a process without clustering): stamps the
 * writes of this server's processes, applies every operation in total order, feeds the workers'
 * read replicas in that order, and replicates to the other servers' replicas through a transport.
 */
export class ReplicaHost {
  readonly clusterClock = new ClusterClock();
  readonly changes = new ChangeNotifier();
  replica: Replica;
  private transport?: ReplicationTransport;
  private antiEntropy?: AntiEntropy;
  private sender?: ReplicationSender;
  private feedSink?: FeedSink;
  private readonly workers = new WorkerFeeds(() => this.feedSink);
  private sentOffset = 0;
  private ticks = 0;
  private folding = false;
  private readonly timer: NodeJS.Timeout;
  private readonly catchUp = new CatchUp(() => this.transport?.networkOpen() === true, () => this.writeCarryOver(), () => ({ replica: this.replica.name, origin: this.replica.origin }));
  private readonly creates = new CreateSettling(() => this.transport?.connected() ?? [], (server) => this.replica.heardFrom(server));
  /** Per worker pid: its write answers held behind a `create` that is settling (answers keep their order). */
  private readonly answering = new Map<number, Promise<void>>();
  /** Replication messages not handled yet, in arrival order; held back while a snapshot merges. */
  private readonly inbox = new ReplicationInbox({
    ops: (_from, ops) => {
      this.publish(this.replica.receiveBatch(ops));
      this.creates.check();
    },
    message: (from, message) => this.onReplication(from, message),
    paused: () => this.replica.mergeUnderWay,
  });
  /** Per peer: what it said it holds (origin → sequence) in its last anti-entropy digest. */
  private readonly peerDigests = new Map<string, Record<string, number>>();

  /**
   * Before SERVER_CLUSTERING gives this process a mesh (or without one) the replica's name is
   * unique per process, so writes made that early can never collide with another server's.
   */
  constructor(name = `local-${randomUUID().slice(0, 8)}`) {
    this.replica = this.createReplica(name, () => [name]);
    this.timer = setInterval(() => this.tick(), TICK_MS).unref();
  }

  private createReplica(name: string, members: () => string[]): Replica {
    return new Replica({ name, members, clock: new HybridLogicalClock(() => this.clusterClock.now()), maxPending: () => storeLimits().maxPendingOperations });
  }

  /**
   * Per peer: operations written on this server (under any of its origins) that the peer did not
   * yet hold at its last digest (metrics: replication lag). Digests are exchanged on every
   * (re)connect and every 2 s while linked, so a healthy peer reads 0 within a few seconds.
   */
  unacknowledged(peers: string[]): Record<string, number> {
    const own = Object.entries(this.replica.digest()).filter(([origin]) => memberOf(origin) === this.replica.name);
    return Object.fromEntries(peers.map((peer) => {
      const held = this.peerDigests.get(peer) ?? {};
      return [peer, own.reduce((sum, [origin, seq]) => sum + Math.max(0, seq - (held[origin] ?? 0)), 0)];
    }));
  }

  setFeedSink(sink: FeedSink): void {
    this.feedSink = sink;
  }

  /** Joins the servers' replication. Called once SERVER_CLUSTERING gives this process its mesh. */
  attachTransport(transport: ReplicationTransport): void {
    if (this.transport) return;
    if (this.replica.lastSeq > 0) {
      log.warn('store.used_before_server_clustering', { origin: this.replica.name, note: 'writes made before SERVER_CLUSTERING started keep their process-local origin; they still replicate' });
    }
    // Data written before the mesh existed is re-written under this server's origin once the
    // replica has caught up with its peers.
    const old = this.replica;
    for (const [store, table] of old.state.tables) for (const [id, entry] of table) this.carryOver.push({ store, id, entry });
    this.replica = this.createReplica(transport.self, () => transport.members());
    this.transport = transport;
    const sender = (this.sender = new ReplicationSender(transport, () => this.replica.origin));
    this.antiEntropy = new AntiEntropy(this.replica, transport, (peer, message) => sender.send(peer, message), (peer) => sender.inFlight(peer));
    transport.onMessage((from, message) => this.enqueue(from, message));
    transport.onPeerUp((peer) => {
      sender.linkUp(peer);
      this.antiEntropy!.open(peer);
    });
    // Each lifetime of a server writes under its own origin (`B~1a2b3c4d`): whatever a previous
    // life wrote, nothing written now can be mistaken for it, so writes never need to learn where
    // an earlier sequence ended — not even those made in work(), before any peer can be reached.
    this.replica.useFreshOrigin(randomUUID().slice(0, 8));
    const peers = transport.members().filter((m) => m !== transport.self);
    if (!peers.length) this.writeCarryOver();
    if (peers.length) {
      this.catchUp.begin();
      for (const peer of transport.connected()) this.antiEntropy.open(peer);
    }
  }

  /** Resolves once this replica caught up with a peer after a (re)start (see CatchUp); undefined when nothing waits. */
  whenSynced(): Promise<void> | undefined {
    return this.catchUp.whenSynced();
  }

  /** Whether reads and writes wait for the catch-up now. */
  catchingUp(): boolean {
    return this.catchUp.waiting();
  }

  private readonly snapshots = new SnapshotAssembler();
  private carryOver: Array<{ store: string; id: string; entry: Entry }> = [];

  private writeCarryOver(): void {
    const entries = this.carryOver.splice(0);
    for (const { store, id, entry } of entries) {
      const op = this.replica.stamp({ store, kind: 'save', id, data: entry.doc, expiresAt: entry.expiresAt });
      this.publish(this.replica.receive(op).items);
      this.replicate(op);
    }
  }

  // ---- writes -------------------------------------------------------------------------------

  /**
   * Stamps and applies a write made on this server. Checks what can be known here first (update
   * operators against the stored field, document size, entry count), so a bad write fails for its
   * caller and never reaches the other replicas.
   */
  write(request: WriteRequest): WriteResult {
    return this.stampWrite(request).result;
  }

  /**
   * `create`: stamped and applied like any write, then answered with the verdict of the total
   * order once no connected server can still send an operation ordered before it (see
   * CreateSettling): 'applied' when it inserted, 'exists' when a live document was there first,
   * with the document there afterwards.
   */
  async create(request: WriteRequest): Promise<WriteResult> {
    const { op } = this.stampWrite(request);
    await this.creates.wait(op!);
    return this.createResult(op!);
  }

  private createResult(op: Operation): WriteResult {
    const entry = this.replica.state.peek(op.store)?.get(op.id!);
    const document = isLive(entry, this.clusterClock.now()) ? copyValue(entry.doc) : undefined;
    return { outcome: createVerdictOf(op) === 'exists' ? 'exists' : 'applied', document };
  }

  private stampWrite(request: WriteRequest): { result: WriteResult; op?: Operation } {
    const table = this.replica.state.table(request.store);
    const now = this.replica.clock.peek().wall;
    const current = request.id !== undefined ? table.get(request.id) : undefined;
    const live = isLive(current, now) ? current : undefined;
    let removed: WriteResult['removed'];
    let updated: Entry | undefined;
    if (request.kind === 'update') {
      if (!live) return { result: NOT_EXISTS };
      const doc = applyUpdate(live.doc, request.data!);
      updated = { doc, [SIZE_BOUND]: this.checkUpdatedSize(request.store, request.id!, live, doc, request.data!) };
    } else if ((request.kind === 'save' || request.kind === 'create') && !table.has(request.id!)) {
      checkEntryCount(request.store, table.size, request.maxEntries);
    } else if (request.kind === 'remove') {
      if (!live) return { result: NOT_EXISTS };
      removed = copyValue(live.doc);
    }
    const op = this.replica.stamp({ store: request.store, kind: request.kind, id: request.id, data: request.data });
    if (request.removeAfterSeconds !== undefined && (request.kind === 'save' || request.kind === 'update' || request.kind === 'create')) {
      // Cluster time, not the HLC wall: the HLC can run ahead of it after seeing a fast clock.
      op.expiresAt = this.clusterClock.now() + Math.round(request.removeAfterSeconds * 1000);
    }
    if (updated) {
      const expiresAt = op.expiresAt ?? live!.expiresAt;
      if (expiresAt !== undefined) updated.expiresAt = expiresAt;
    }
    const { items, outcome } = this.replica.receive(op, updated);
    this.publish(items);
    this.replicate(op);
    if (outcome === 'notExists') return { result: NOT_EXISTS, op };
    return { result: removed === undefined ? APPLIED : { outcome: 'applied', removed }, op };
  }

  /**
   * An update can grow a document by at most about twice its own encoded size (new values, array
   * elements, wider numbers). The full document is encoded only when that bound nears the limit.
   * Returns the new document's bound, which its entry keeps for the next update.
   */
  private checkUpdatedSize(store: string, id: string, before: Entry, after: Document, data: Document): number {
    const limit = storeLimits().maxDocumentBytes;
    const previous = before[SIZE_BOUND];
    let bound = previous === undefined ? measure(after) : previous + 2 * measure(data) + 16;
    if (bound > limit) {
      bound = encode(after).length;
      checkDocumentSize(store, id, bound);
    }
    return bound;
  }

  // ---- workers ------------------------------------------------------------------------------

  /** A worker starts reading `store`: it gets the store's entries, then every change to it in order. */
  subscribe(workerId: number, pid: number, store: string): void {
    const table = this.replica.state.peek(store);
    this.workers.addReader(workerId, pid, store, table ? [...table] : [], this.clusterClock.offset);
  }

  /** A worker process exited: stop feeding it. */
  forgetWorker(pid: number): void {
    this.workers.dropReader(pid);
  }

  /**
   * A worker's writes numbered `first`, `first + 1`, … in its order. Each is stamped and applied
   * like a local write; one answer for the batch goes out behind the changes it caused (so the
   * worker reads its writes once they resolve), spelling out only results other than "applied" —
   * and the updated document where the worker asked for it (it does not read that store yet).
   */
  writeBatch(workerId: number, pid: number, first: number, requests: WriteRequest[], errorOrigin: string): void {
    let special: SpecialAnswer[] | undefined;
    let creates: Array<{ req: number; op: Operation }> | undefined;
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i];
      const req = first + i;
      try {
        if (request.kind === 'create') {
          (creates ??= []).push({ req, op: this.stampWrite(request).op! });
          continue;
        }
        const result = this.write(request);
        const document = result.removed ?? (request.returnDocument ? this.replica.state.peek(request.store)?.get(request.id!)?.doc : undefined);
        if (result.outcome === 'notExists') (special ??= []).push([req, AnswerCode.NotExists]);
        else if (document !== undefined) (special ??= []).push([req, AnswerCode.Applied, document]);
      } catch (error) {
        (special ??= []).push([req, AnswerCode.Failed, toWireError(error, errorOrigin)]);
      }
    }
    const upTo = first + requests.length - 1;
    const before = this.answering.get(pid);
    if (!creates && !before) {
      this.workers.ack(workerId, pid, upTo, special);
      return;
    }
    // A create answers once it settled; later answers to this worker wait behind it (an answer
    // covers every write up to its number).
    const settling = creates ?? [];
    const answered: Promise<void> = (before ?? Promise.resolve())
      .then(() => Promise.all(settling.map(({ op }) => this.creates.wait(op))))
      .then(() => {
        const answers = special ?? [];
        for (const { req, op } of settling) {
          const result = this.createResult(op);
          answers.push([req, result.outcome === 'exists' ? AnswerCode.Exists : AnswerCode.Applied, result.document]);
        }
        answers.sort((a, b) => a[0] - b[0]);
        this.workers.ack(workerId, pid, upTo, answers.length ? answers : undefined);
        if (this.answering.get(pid) === answered) this.answering.delete(pid);
      });
    this.answering.set(pid, answered);
  }

  private publish(items: FeedItem[]): void {
    for (const item of items) {
      this.changes.notify(item, this.replica.state);
      if (!this.workers.hasReaders()) continue;
      if (item.t === 'op') {
        if (this.workers.isRead(item.op.store)) this.workers.push(operationToWire(item.op));
      } else if (item.t === 'prune' || this.workers.isRead(item.store)) {
        this.workers.push(item);
      }
    }
  }

  // ---- replication --------------------------------------------------------------------------

  private replicate(op: Operation): void {
    this.sender?.replicate(op);
  }

  /** Replication messages are handled in arrival order, a bounded amount per turn (see ReplicationInbox). */
  private enqueue(from: string, message: ReplicationMessage): void {
    // The clock sample is taken on arrival: a wait in the queue is not the peer's clock offset.
    if (message.t === 'beat') this.clusterClock.sample(from, message.physical);
    this.inbox.push(from, message);
  }

  /** Every message but `ops` (ReplicationInbox hands their operations to the replica in batches). */
  private onReplication(from: string, message: Exclude<ReplicationMessage, { t: 'ops' }>): void {
    switch (message.t) {
      case 'beat':
        this.replica.noteBeat(message.origin ?? from, message.seq, message.stamp);
        this.replica.noteWatermark(from, message.mark);
        this.creates.check();
        return;
      case 'digest':
        this.peerDigests.set(from, message.digest);
        this.antiEntropy?.onDigest(from, message.digest, message.answer);
        if (!message.answer) this.catchUp.done(`caught up with ${from}`);
        return;
      case 'snapshot-part':
        this.snapshots.add(from, message.part);
        return;
      case 'snapshot': {
        const snapshot = this.snapshots.finish(from, message.snapshot, message.transfer, message.parts);
        if (!snapshot) return log.warn('store.snapshot_incomplete', { from, parts: message.parts, note: 'parts were lost with a link; anti-entropy asks again' });
        log.info('store.snapshot_received', { from });
        // Merged in slices, one per turn; the inbox holds back later messages until it is done.
        mergeInSlices(this.replica, snapshot, (items) => {
          this.publish(items);
          this.creates.check();
          this.inbox.resume();
        });
        return;
      }
    }
  }

  private tick(): void {
    this.ticks++;
    this.catchUp.check();
    this.creates.check();
    this.publish(this.replica.advance(this.clusterClock.now()));
    if (this.replica.foldBehind && !this.folding) this.foldInTurns();
    if (this.workers.hasReaders() && Math.abs(this.clusterClock.offset - this.sentOffset) >= 1) {
      this.sentOffset = this.clusterClock.offset;
      this.workers.push({ t: 'clock', offset: this.sentOffset });
    }
    if (!this.transport) return;
    if (this.ticks % BEAT_EVERY_TICKS === 0) {
      const beat: ReplicationMessage = { t: 'beat', origin: this.replica.origin, seq: this.replica.lastSeq, stamp: this.replica.clock.now(), mark: this.replica.watermark(), physical: physicalNow() };
      for (const peer of this.transport.connected()) this.sender!.send(peer, beat);
    }
    if (this.ticks % SWEEP_EVERY_TICKS === 0) this.antiEntropy?.sweep();
  }

  /** A fold backlog (a partition healing) goes on one bounded step per turn (see Replica.foldStep). */
  private foldInTurns(): void {
    this.folding = true;
    setImmediate(() => {
      this.folding = false;
      if (this.replica.foldStep()) this.foldInTurns();
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

