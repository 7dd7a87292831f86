import { BatchingLink } from '../core/link.js';

/** The minimal IPC surface shared by a cluster.Worker (master side) and `process` (worker side). */
export interface IpcChannel {
  send(message: unknown, sendHandle?: undefined, options?: undefined, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/** Marker key of boxwire frames on the IPC channel (user messages and Node's own pass by). */
const FRAME_KEY = '__bw';

/**
 * A link over Node's IPC channel. The channel uses 'advanced' serialization, so a frame
 * travels as raw bytes rather than as JSON.
 */
export class IpcLink extends BatchingLink {
  private closed = false;

  constructor(private readonly channel: IpcChannel) {
    super();
    channel.on('message', this.onMessage);
  }

  protected writeFrame(frame: Buffer): void {
    if (this.closed) return;
    try {
      // With a callback, a write to a channel that closed meanwhile reports here instead of as an
      // unhandled 'error' event that would take this process down.
      this.channel.send({ [FRAME_KEY]: frame }, undefined, undefined, this.onSent);
    } catch {
      // The channel closed under us (the peer died); supervision handles the consequences.
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropQueued();
    this.channel.off('message', this.onMessage);
  }

  private readonly onSent = (error: Error | null) => {
    if (error) this.close();
  };

  private readonly onMessage = (message: unknown) => {
    if (message === null || typeof message !== 'object') return;
    const frame = (message as Record<string, unknown>)[FRAME_KEY];
    if (frame instanceof Uint8Array) this.receiveFrame(frame);
  };
}
