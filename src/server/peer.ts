import { encodeEnvelope, type Envelope } from '../core/envelope.js';
import { OverflowError } from '../core/errors.js';
import { Outbox } from '../core/outbox.js';
import type { Address } from './options.js';
import type { Heartbeat } from './heartbeat.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import type { WsLink } from './ws-link.js';

/**
 * What this server knows about one other server: its address, the link when there is one, the
 * bounded outbox that holds messages while there is none, and the dialing schedule.
 *
 * Sending never blocks: with a link, envelopes join the tick's batch (and the socket's buffer is
 * bounded by the outbox's byte limit); without one, they wait in the outbox in order, and
 * beyond its bound `send` throws OverflowError.
 */
export class Peer {
  link?: WsLink;
  heartbeat?: Heartbeat;
  /** The peer's process instance on the current (or last) link. */
  instance?: string;
  readonly outbox: Outbox;
  readonly backoff = new ReconnectBackoff();
  dialTimer?: NodeJS.Timeout;
  dialing = false;
  /** The last reason a dial failed, to log a change of reason once rather than every retry. */
  lastFailure?: string;
  /** Links established with this server, and links lost (metrics). */
  connects = 0;
  downs = 0;

  constructor(readonly name: string, readonly address: Address, limits: { maxMessages: number; maxBytes: number }) {
    this.outbox = new Outbox(`server '${name}'`, limits);
  }

  get isUp(): boolean {
    return this.link !== undefined && this.link.isOpen;
  }

  send(target: number, envelope: Envelope): void {
    const link = this.link;
    if (link?.isOpen) {
      if (link.bufferedAmount > this.outbox.maxBytes) {
        this.outbox.overflows++;
        throw new OverflowError(`the link to server '${this.name}'`, `${this.outbox.maxBytes} bytes waiting to be written`);
      }
      link.sendEnvelope(target, envelope);
    } else {
      this.outbox.push(target, encodeEnvelope(envelope), 1);
    }
  }

  /** Hands what waited to the new link, in order, before anything sent from now on. */
  drainTo(link: WsLink): number {
    return this.outbox.drain((target, body, count) => link.send(target, body, count));
  }
}
