import { OverflowError } from './errors.js';

export const DEFAULT_OUTBOX_MESSAGES = 100_000;
export const DEFAULT_OUTBOX_BYTES = 64 * 1024 * 1024;

export interface OutboxLimits {
  maxMessages?: number;
  maxBytes?: number;
}

/**
 * Records waiting for a peer that is down or restarting, delivered in order when it is back.
 * Bounded by envelopes and bytes: `push` throws OverflowError instead of growing without limit.
 */
export class Outbox {
  private queue: Array<{ target: number; body: Uint8Array; count: number }> = [];
  private bytes = 0;
  private messages = 0;
  /** Sends refused because this outbox was full (metrics). */
  overflows = 0;
  readonly maxMessages: number;
  readonly maxBytes: number;

  constructor(private readonly peerName: string, limits: OutboxLimits = {}) {
    this.maxMessages = limits.maxMessages ?? DEFAULT_OUTBOX_MESSAGES;
    this.maxBytes = limits.maxBytes ?? DEFAULT_OUTBOX_BYTES;
  }

  push(target: number, body: Uint8Array, count = 1): void {
    if (this.messages + count > this.maxMessages || this.bytes + body.length > this.maxBytes) {
      this.overflows++;
      throw new OverflowError(`the outbox for ${this.peerName}`, `${this.maxMessages} messages or ${this.maxBytes} bytes`);
    }
    this.queue.push({ target, body, count });
    this.bytes += body.length;
    this.messages += count;
  }

  /** Hands every queued record to `deliver` in order and empties the outbox. */
  drain(deliver: (target: number, body: Uint8Array, count: number) => void): number {
    const queued = this.queue;
    this.queue = [];
    this.bytes = 0;
    this.messages = 0;
    for (const record of queued) deliver(record.target, record.body, record.count);
    return queued.length;
  }

  /** Envelopes waiting. */
  get size(): number {
    return this.messages;
  }

  get byteSize(): number {
    return this.bytes;
  }
}
