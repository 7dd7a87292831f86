import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { decodeEnvelopes, encodeEnvelope, type Envelope } from '../core/envelope.js';
import { FrameBuilder, forEachRecord, RECORD_HEADER_BYTES } from '../core/frame.js';
import { BatchingLink } from '../core/link.js';

/**
 * Record target reserved for the link's own traffic (heartbeats, clock samples). Worker ids are
 * small, and MASTER / ANY_WORKER / ALL_WORKERS are 0, 0xfffe and 0xffff.
 */
export const LINK_CONTROL = 0xfffd;

const FIN_BINARY = 0x82;
const MASK_BIT = 0x80;

/** The parts of a `ws` WebSocket that writing a message straight to its socket relies on. */
interface WsInternals {
  _socket?: Socket;
  _sender?: { _state: number; _queue: unknown[] };
}

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

  /**
   * @param masked this side dialed: RFC 6455 requires client frames to carry a mask key (a zero
   *   key here, see Mesh.dial — the peer then skips unmasking).
   */
  constructor(readonly socket: WebSocket, private readonly maxFrameBytes: number, private readonly events: WsLinkEvents, private readonly masked = false) {
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

  /** Exactly the WebSocket header a message of `bytes` bytes needs, so the frame is written as is. */
  protected override headroomFor(bytes: number): number {
    return (bytes <= 125 ? 2 : bytes <= 0xffff ? 4 : 10) + (this.masked ? 4 : 0);
  }

  protected writeFrame(frame: Buffer, headroom: number): void {
    if (this.closed) return;
    const length = frame.length - headroom;
    if (length <= this.maxFrameBytes) this.writeMessage(frame, length, headroom);
    else for (const part of this.split(frame.subarray(headroom))) this.socket.send(part, { binary: true });
  }

  /**
   * Sends one binary WebSocket message as one socket write, its header put in the headroom in
   * front of the frame. Through `ws.send` a message is two buffers, corked and written with
   * writev, which costs several µs of JS per message — on a request's path, twice. ws's own
   * frames (close, ping) go through its sender to the same socket, synchronously, so order
   * holds. When ws is not in its plain open state (it is closing, or queuing for compression,
   * which these links never use), the message goes through `ws.send` as before.
   */
  private writeMessage(frame: Buffer, length: number, headroom: number): void {
    const raw = this.plainSocket();
    if (!raw) {
      this.socket.send(frame.subarray(headroom), { binary: true });
      return;
    }
    const lengthBytes = length <= 125 ? 0 : length <= 0xffff ? 2 : 8;
    const start = headroom - 2 - lengthBytes - (this.masked ? 4 : 0);
    let at = start;
    frame[at++] = FIN_BINARY;
    const mask = this.masked ? MASK_BIT : 0;
    if (lengthBytes === 0) {
      frame[at++] = mask | length;
    } else if (lengthBytes === 2) {
      frame[at++] = mask | 126;
      frame[at++] = length >>> 8;
      frame[at++] = length & 0xff;
    } else {
      frame[at++] = mask | 127;
      frame.writeUInt32BE(Math.floor(length / 0x100000000), at);
      frame.writeUInt32BE(length >>> 0, at + 4);
      at += 8;
    }
    if (this.masked) {
      frame[at] = 0;
      frame[at + 1] = 0;
      frame[at + 2] = 0;
      frame[at + 3] = 0;
    }
    raw.write(start === 0 ? frame : frame.subarray(start));
  }

  private plainSocket(): Socket | undefined {
    if (this.socket.readyState !== WebSocket.OPEN) return undefined;
    const { _socket: raw, _sender: sender } = this.socket as unknown as WsInternals;
    if (!raw || !sender || sender._state !== 0 || sender._queue.length !== 0) return undefined;
    return raw;
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
      // Answers that handlers give synchronously leave when the frame is handled, as a raw
      // echo's would, rather than after the stream's own next-tick work (and need no microtask
      // of their own); what is sent later still batches as usual.
      this.holdFlush = true;
      try {
        this.receiveFrame(data);
      } finally {
        this.holdFlush = false;
      }
      this.flush();
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
