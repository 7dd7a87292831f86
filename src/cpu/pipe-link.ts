import type { Socket } from 'node:net';
import { BatchingLink } from '../core/link.js';
import { log } from '../core/logger.js';

/** The file descriptor of the extra pipe each worker gets for boxwire frames (after stdin/out/err and IPC). */
export const LINK_FD = 4;

/** A frame on the pipe is prefixed by its length. */
const LENGTH_BYTES = 4;

/**
 * A link over a dedicated pipe between the master and one worker. Node's IPC channel would
 * serialize every frame (JSON, or V8's serializer in 'advanced' mode) and parse it again; on this
 * pipe a frame is just its bytes behind a length, which measurably cuts both CPU and latency. The
 * IPC channel stays what node:cluster uses it for (handles, disconnects) and what user code sends.
 */
export class PipeLink extends BatchingLink {
  private closed = false;
  /** The start of a frame still arriving: its chunks, their total length, and the length needed. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  private needed = 0;

  constructor(private readonly socket: Socket, private readonly onClose: () => void = () => {}) {
    super();
    socket.setNoDelay?.(true);
    socket.on('data', this.onData);
    socket.on('error', (error) => log.debug('link.pipe_error', { error }));
    socket.once('close', () => this.close());
  }

  protected override get frameHeadroom(): number {
    return LENGTH_BYTES;
  }

  /** The length goes in the headroom in front of the frame: one buffer, one write (no corked writev). */
  protected writeFrame(frame: Buffer): void {
    if (this.closed) return;
    frame.writeUInt32BE(frame.length - LENGTH_BYTES, 0);
    this.socket.write(frame);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropQueued();
    this.socket.off('data', this.onData);
    this.socket.destroy();
    this.onClose();
  }

  /**
   * Reassembles frames from the byte stream; a frame may span chunks and a chunk hold several.
   * The chunks of an unfinished frame are kept apart and joined once, when it is complete: joining
   * at every chunk would copy a large frame (a store snapshot) once per chunk.
   */
  private readonly onData = (chunk: Buffer) => {
    if (this.buffered > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered < this.needed) return;
      chunk = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }
    let offset = 0;
    try {
      while (chunk.length - offset >= LENGTH_BYTES) {
        const end = offset + LENGTH_BYTES + chunk.readUInt32BE(offset);
        if (end > chunk.length) break;
        this.receiveFrame(chunk.subarray(offset + LENGTH_BYTES, end));
        offset = end;
        if (this.closed) return;
      }
    } catch (error) {
      // A malformed frame: the stream can no longer be trusted. Close this link, keep the process.
      log.error('link.pipe_malformed_frame', { error });
      this.close();
      return;
    }
    if (offset === chunk.length) return;
    const rest = chunk.subarray(offset);
    this.chunks = [rest];
    this.buffered = rest.length;
    this.needed = rest.length >= LENGTH_BYTES ? LENGTH_BYTES + rest.readUInt32BE(0) : LENGTH_BYTES;
  };
}
