/**
 * Heartbeats on one established link: every interval each side sends a ping with its clock and
 * load; the other answers at once with its own times and load. They serve three purposes:
 *   - failure detection: a link silent for `deadAfterMs` (no frame at all, heartbeats included)
 *     is closed and its server declared down — a peer that vanished without closing its socket
 *     (power loss, partition) is found within seconds;
 *   - clock offsets (NTP-style, see clock-offset.ts), warned about past a threshold;
 *   - load figures, for placement.
 */
import { decode, encode } from '../core/codec.js';
import { log } from '../core/logger.js';
import { ClockOffset } from './clock-offset.js';
import { sampleLoad, type ServerLoad } from './load.js';
import { LINK_CONTROL, type WsLink } from './ws-link.js';

const PING = 1;
const PONG = 2;

export interface HeartbeatOptions {
  peer: string;
  intervalMs: number;
  deadAfterMs: number;
  clockSkewWarnMs: number;
}

export class Heartbeat {
  readonly clock = new ClockOffset();
  load?: ServerLoad;
  private timer?: NodeJS.Timeout;
  private skewWarned = false;

  constructor(private readonly link: WsLink, private readonly options: HeartbeatOptions, private readonly onDead: () => void) {}

  start(): void {
    this.ping();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A LINK_CONTROL record arrived. */
  handle(body: Uint8Array): void {
    const message = decode<unknown[]>(body);
    if (!Array.isArray(message)) throw new TypeError('malformed heartbeat');
    if (message[0] === PING) {
      const received = Date.now();
      this.load = message[2] as ServerLoad;
      this.send([PONG, message[1], received, Date.now(), sampleLoad()]);
    } else if (message[0] === PONG) {
      const [, t0, t1, t2, load] = message as [number, number, number, number, ServerLoad];
      this.load = load;
      this.clock.add(t0, t1, t2, Date.now());
      this.checkSkew();
    }
  }

  private tick(): void {
    const silentMs = Date.now() - this.link.lastHeardAt;
    if (silentMs > this.options.deadAfterMs) {
      log.warn('server.link_silent', { server: this.options.peer, silentMs });
      this.stop();
      this.onDead();
      return;
    }
    this.ping();
  }

  private ping(): void {
    this.send([PING, Date.now(), sampleLoad()]);
  }

  private send(message: unknown[]): void {
    this.link.send(LINK_CONTROL, encode(message), 1);
    this.link.flush(); // timing samples should not wait for the batch
  }

  private checkSkew(): void {
    const offset = this.clock.offsetMs;
    if (offset === undefined) return;
    const far = Math.abs(offset) > this.options.clockSkewWarnMs;
    if (far && !this.skewWarned) {
      log.warn('server.clock_skew', {
        server: this.options.peer, offsetMs: offset, thresholdMs: this.options.clockSkewWarnMs,
        note: 'store TTLs and ordering depend on sane clocks: run chrony (see ops/README.md, "Clock sync with chrony")',
      });
    }
    this.skewWarned = far;
  }
}
