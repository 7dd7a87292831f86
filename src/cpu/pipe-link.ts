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
  private partial: Buffer | undefined;

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

  /** Reassembles frames from the byte stream; a frame may span chunks and a chunk hold several. */
  private readonly onData = (chunk: Buffer) => {
    let data = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
    this.partial = undefined;
    let offset = 0;
    while (data.length - offset >= LENGTH_BYTES) {
      const length = data.readUInt32BE(offset);
      const end = offset + LENGTH_BYTES + length;
      if (end > data.length) break;
      this.receiveFrame(data.subarray(offset + LENGTH_BYTES, end));
      offset = end;
    }
    if (offset < data.length) this.partial = data.subarray(offset);
  };
}
