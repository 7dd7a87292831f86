import type WebSocket from 'ws';
import { decodeEnvelopes, encodeEnvelope, type Envelope } from '../core/envelope.js';
import { FrameBuilder, forEachRecord, RECORD_HEADER_BYTES } from '../core/frame.js';
import { BatchingLink } from '../core/link.js';

/**
 * Record target reserved for the link's own traffic (heartbeats, clock samples). Worker ids are
 * small, and MASTER / ANY_WORKER / ALL_WORKERS are 0, 0xfffe and 0xffff.
 */
export const LINK_CONTROL = 0xfffd;

export interface WsLinkEvents {
  /** The socket closed (either side, any reason); called once. */
  closed(code: number, reason: string): void;
  /** The peer sent something that is not a valid frame; the link is being closed. */
  malformed(error: Error): void;
  /** An envelope too large for any frame was dropped (so a requester can be told). */
  oversized(envelope: Envelope, bytes: number): void;
}

/**
 * A server-to-server link: batches of envelopes in binary WebSocket messages, one frame per tick.
 * Frames never exceed `maxFrameBytes` (the peer closes links that send bigger ones), so an
 * oversized batch is split, and a single envelope too large for any frame is dropped and reported.
 */
export class WsLink extends BatchingLink {
  /** When a frame last arrived: the heartbeat declares the peer dead after a silence. */
  lastHeardAt = Date.now();
  private closed = false;

  constructor(readonly socket: WebSocket, private readonly maxFrameBytes: number, private readonly events: WsLinkEvents) {
    super();
    socket.on('message', this.onMessage);
    socket.once('close', (code: number, reason: Buffer) => this.onClosed(code, reason.toString()));
    socket.on('error', () => {}); // 'close' follows every error
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Bytes written but not yet on the wire: bounded by the peer's outbox limits. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  protected writeFrame(frame: Buffer): void {
    if (this.closed) return;
    if (frame.length <= this.maxFrameBytes) this.socket.send(frame, { binary: true });
    else for (const part of this.split(frame)) this.socket.send(part, { binary: true });
  }

  /** Closes the link; `terminate` skips the closing handshake (a silent peer will not answer it). */
  close(code = 1000, reason = '', terminate = false): void {
    if (this.closed) return;
    this.flush();
    if (terminate) this.socket.terminate();
    else this.socket.close(code, reason);
  }

  private readonly onMessage = (data: Buffer, isBinary: boolean) => {
    if (this.closed) return;
    this.lastHeardAt = Date.now();
    try {
      if (!isBinary) throw new TypeError('text message on a binary link');
      this.receiveFrame(data);
    } catch (error) {
      this.events.malformed(error as Error);
      this.close(1007, 'malformed frame', true);
    }
  };

  private onClosed(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.dropQueued();
    this.socket.off('message', this.onMessage);
    this.events.closed(code, reason);
  }

  /** Rare path: regroups records into frames under the cap, re-encoding big batches one by one. */
  private split(frame: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let builder = new FrameBuilder();
    const add = (target: number, body: Uint8Array, count: number) => {
      if (builder.size + RECORD_HEADER_BYTES + body.length > this.maxFrameBytes && builder.count > 0) {
        frames.push(builder.take());
        builder = new FrameBuilder();
      }
      builder.add(target, body, count);
    };
    forEachRecord(frame, (target, body, count) => {
      if (RECORD_HEADER_BYTES + body.length <= this.maxFrameBytes) return add(target, body, count);
      for (const envelope of decodeEnvelopes(body)) {
        const single = encodeEnvelope(envelope);
        if (RECORD_HEADER_BYTES + single.length <= this.maxFrameBytes) add(target, single, 1);
        else this.events.oversized(envelope, single.length);
      }
    });
    if (builder.count > 0) frames.push(builder.take());
    return frames;
  }
}
