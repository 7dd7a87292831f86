import { FrameBuilder, forEachRecord } from './frame.js';

/** Flush early when a batch grows past this many bytes, so frames stay well under the caps. */
export const FLUSH_BYTES = 1 << 20;

export interface LinkEvents {
  records(target: number, body: Uint8Array): void;
}

/**
 * The link seam: a link carries batches of encoded envelopes between two endpoints. Everything
 * written in one tick (or until FLUSH_BYTES) goes out as a single frame: many small messages
 * cost one IPC write or one WebSocket frame. IPC is one link; WebSocket is another.
 */
export abstract class BatchingLink {
  private readonly builder = new FrameBuilder();
  private flushScheduled = false;
  private onRecords: (target: number, body: Uint8Array) => void = () => {};

  /** Writes one frame to the transport. */
  protected abstract writeFrame(frame: Buffer): void;

  /** Queue one record; it leaves with the rest of this tick's batch. */
  send(target: number, body: Uint8Array): void {
    this.builder.add(target, body);
    if (this.builder.size >= FLUSH_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushBound);
    }
  }

  setReceiver(receiver: (target: number, body: Uint8Array) => void): void {
    this.onRecords = receiver;
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.builder.count === 0) return;
    this.writeFrame(this.builder.take());
  }

  /** Discards what is queued but not yet written (the transport is gone). */
  protected dropQueued(): void {
    if (this.builder.count > 0) this.builder.take();
  }

  /** Called by subclasses with each frame that arrives. Throws on a malformed frame. */
  protected receiveFrame(frame: Uint8Array): void {
    forEachRecord(frame, this.onRecords);
  }

  private readonly flushBound = () => this.flush();
}
