import { log } from '../../core/logger.js';
import type { Operation } from './operation.js';
import { unpackOperations } from './operation-wire.js';
import type { ReplicationMessage } from './replication.js';

/**
 * Replication work per event-loop turn: at most this many received operations, and no further
 * message once this much time has passed. The rest waits for the next turn, so heartbeats are
 * sent and answered in between however much arrives at once (a burst, a partition healing).
 */
export const OPS_PER_TURN = 2_000;
const TURN_BUDGET_MS = 10;

export interface InboxHandlers {
  /** Part (or all) of one received `ops` message, in order. */
  ops(from: string, ops: Operation[]): void;
  /** Any other message. */
  message(from: string, message: Exclude<ReplicationMessage, { t: 'ops' }>): void;
  /** While true, nothing more is handled (a snapshot merge is under way); call `resume` after. */
  paused(): boolean;
}

/**
 * Received replication messages, handled in arrival order a bounded amount per turn: a large
 * `ops` message is taken in parts. Each part goes to the replica as one batch and is published
 * before the next is applied, so change listeners see each message's documents as they were after
 * it.
 */
export class ReplicationInbox {
  private items: InboxItem[] = [];
  private head = 0;
  private scheduled = false;

  constructor(private readonly handlers: InboxHandlers) {}

  push(from: string, message: ReplicationMessage): void {
    this.items.push({ from, message });
    this.schedule();
  }

  /** Goes on with the queued messages (after a pause). */
  resume(): void {
    if (this.head < this.items.length) this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  /** Handles queued messages until OPS_PER_TURN operations or TURN_BUDGET_MS, then yields. */
  private drain(): void {
    this.scheduled = false;
    const deadline = performance.now() + TURN_BUDGET_MS;
    let done = 0;
    while (this.head < this.items.length && !this.handlers.paused()) {
      const item = this.items[this.head];
      const { from, message } = item;
      if (message.t === 'ops') {
        if (!item.ops) {
          const { ops, dropped } = unpackOperations(message.packed);
          if (dropped) log.warn('store.malformed_operations', { from, dropped });
          item.ops = ops;
          item.next = 0;
        }
        const start = item.next!;
        const end = Math.min(item.ops.length, start + OPS_PER_TURN - done);
        const part = start === 0 && end === item.ops.length ? item.ops : item.ops.slice(start, end);
        item.next = end;
        done += part.length;
        if (end === item.ops.length) this.head++;
        this.handlers.ops(from, part);
      } else {
        this.head++;
        this.handlers.message(from, message);
      }
      if (done >= OPS_PER_TURN || performance.now() > deadline) break;
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
      return;
    }
    if (this.head > 1024) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (!this.handlers.paused()) this.schedule();
  }
}

/** A received replication message; `ops`/`next`: an `ops` message's operations and how many were handled. */
interface InboxItem {
  from: string;
  message: ReplicationMessage;
  ops?: Operation[];
  next?: number;
}
