import { Kind, encodeBatch, type Envelope } from './envelope.js';
import { FrameBuilder, RECORD_HEADER_BYTES, forEachRecord, type RecordVisitor } from './frame.js';
import { log } from './logger.js';

/** Flush early when this many bytes of pre-encoded records are queued … */
export const FLUSH_BYTES = 1 << 20;
/** … or this many envelopes, so frames stay well under the transport caps. */
export const FLUSH_ENVELOPES = 8192;
/**
 * … or this many requests and answers. Someone waits on those: sending them in slices lets the
 * other side start on the first ones while the rest are produced, instead of the two sides taking
 * turns (measured: 100 requests in flight between two servers, about 1.5× the throughput).
 * One-way messages keep the large batches, which is what their throughput needs.
 */
export const FLUSH_AWAITED = 32;

/**
 * Flushes are queued on this promise: a microtask like queueMicrotask, without the AsyncResource
 * that queueMicrotask creates and enters for every call (a request's path pays it once per hop).
 */
const settled = Promise.resolve();

/** Queued work for one target: envelopes still to encode as one batch, or a record to forward as is. */
interface Pending {
  target: number;
  envelopes?: Envelope[];
  body?: Uint8Array;
  count: number;
}

/**
 * The link seam: a link carries batches of envelopes between two endpoints. Everything sent
 * while the current task runs leaves as a single frame (one pipe write, one WebSocket message)
 * when it ends (a microtask: batching without a timer's latency), and the envelopes for one
 * target are encoded together as one record. Order is kept per target. The master↔worker
 * pipe is one link (src/cpu/pipe-link.ts); the server-to-server WebSocket is another.
 */
export abstract class BatchingLink {
  private queue: Pending[] = [];
  /** The batch still accepting envelopes, per target. */
  private open = new Map<number, Pending>();
  private queuedEnvelopes = 0;
  private queuedAwaited = 0;
  private queuedBytes = 0;
  private flushScheduled = false;
  /** Set while a caller that flushes when it is done runs (a frame being handled): sends need no microtask. */
  protected holdFlush = false;
  private onRecords: RecordVisitor = () => {};

  /**
   * Bytes a transport wants free in front of every frame for its own header (see writeFrame).
   * A getter rather than a field: it is read while subclasses are still being constructed.
   */
  protected get frameHeadroom(): number {
    return 0;
  }

  /**
   * The headroom for a frame of `bytes` bytes (records only). A transport whose header size
   * depends on the length can reserve exactly what it needs, and then write the frame as is.
   */
  protected headroomFor(_bytes: number): number {
    return this.frameHeadroom;
  }

  /** Writes one frame to the transport; its first `headroom` bytes are free for a header. */
  protected abstract writeFrame(frame: Buffer, headroom: number): void;

  /** Queues an envelope (already checked with assertEncodable) for `target`. */
  sendEnvelope(target: number, envelope: Envelope): void {
    let batch = this.open.get(target);
    if (!batch) {
      batch = { target, envelopes: [], count: 0 };
      this.queue.push(batch);
      this.open.set(target, batch);
    }
    batch.envelopes!.push(envelope);
    batch.count++;
    const awaited = envelope.kind !== Kind.Message;
    if (++this.queuedEnvelopes >= FLUSH_ENVELOPES || (awaited && ++this.queuedAwaited >= FLUSH_AWAITED)) this.flush();
    else this.schedule();
  }

  /** Queues an already-encoded record (forwarding without decoding). */
  send(target: number, body: Uint8Array, count = 1): void {
    this.open.delete(target); // later envelopes for this target go after this record
    this.queue.push({ target, body, count });
    this.queuedBytes += body.length;
    if (this.queuedBytes >= FLUSH_BYTES) this.flush();
    else this.schedule();
  }

  setReceiver(receiver: RecordVisitor): void {
    this.onRecords = receiver;
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    const queue = this.takeQueue();
    if (queue.length === 1 && this.writeSingle(queue[0])) return;
    const builder = new FrameBuilder();
    for (const pending of queue) {
      if (pending.body) builder.add(pending.target, pending.body, pending.count);
      else this.addEncoded(builder, pending.target, pending.envelopes!);
    }
    if (builder.count === 0) return;
    const headroom = this.headroomFor(builder.size);
    this.writeFrame(builder.take(headroom), headroom);
  }

  /**
   * The common case of one record in the frame (a lone request or answer, a batch for one
   * target): the frame is written here without a builder. Returns false when the batch does not
   * encode as a whole, for the envelope-by-envelope path.
   */
  private writeSingle(pending: Pending): boolean {
    let body = pending.body;
    if (!body) {
      try {
        body = encodeBatch(pending.envelopes!);
      } catch {
        return false;
      }
    }
    const bytes = RECORD_HEADER_BYTES + body.length;
    const headroom = this.headroomFor(bytes);
    const frame = Buffer.allocUnsafe(headroom + bytes);
    frame.writeUInt32BE(body.length, headroom);
    frame.writeUInt16BE(pending.target, headroom + 4);
    frame.writeUInt32BE(pending.count, headroom + 6);
    frame.set(body, headroom + RECORD_HEADER_BYTES);
    this.writeFrame(frame, headroom);
    return true;
  }

  /** Discards what is queued but not yet written (the transport is gone). */
  protected dropQueued(): void {
    this.takeQueue();
  }

  /** Empties the queue and returns what it held. */
  private takeQueue(): Pending[] {
    const queue = this.queue;
    this.queue = [];
    // A new Map rather than clear(): V8 links a cleared table to its successor, and a chain of
    // those through promoted tables keeps every later batch alive through scavenges (see
    // pending-by-id.ts). This runs on every flush.
    this.open = new Map();
    this.queuedEnvelopes = 0;
    this.queuedAwaited = 0;
    this.queuedBytes = 0;
    return queue;
  }

  /** Called by subclasses with each frame that arrives. Throws on a malformed frame. */
  protected receiveFrame(frame: Uint8Array): void {
    forEachRecord(frame, this.onRecords);
  }

  private addEncoded(builder: FrameBuilder, target: number, envelopes: Envelope[]): void {
    try {
      builder.add(target, encodeBatch(envelopes), envelopes.length);
    } catch {
      // Data was checked at the call site; should one still fail, lose only that envelope.
      for (const envelope of envelopes) {
        try {
          builder.add(target, encodeBatch([envelope]), 1);
        } catch (error) {
          log.error('envelope.unencodable', { method: envelope.method, error });
        }
      }
    }
  }

  private schedule(): void {
    if (this.flushScheduled || this.holdFlush) return;
    this.flushScheduled = true;
    // A microtask, not setImmediate: a request's first hop leaves at once (latency), while a
    // loop of sends still coalesces because it runs in one task.
    void settled.then(this.flushBound);
  }

  private readonly flushBound = () => this.flush();
}

