/**
 * What a connection to the mesh port may cost before it has proved it knows the cluster key.
 * Anyone who can reach the port can open connections, so until the handshake succeeds:
 *   - at most `maxPerAddress` such connections per remote address and `maxTotal` in all (more
 *     are closed at once, so one source cannot hold every slot and keep real servers out);
 *   - a deadline from the TCP accept (not from the WebSocket upgrade): a silent connection, or
 *     one trickling its HTTP upgrade, is closed after `deadlineMs`;
 *   - at most `maxBytes` received (HTTP upgrade excluded; it is bounded by Node's header limit):
 *     the handshake messages are a few hundred bytes, so a frame declaring megabytes is cut off
 *     before `ws` buffers it.
 * Refusals are logged through a LogLimiter.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { LogLimiter } from '../core/log-limiter.js';

export interface PreAuthLimits {
  maxPerAddress: number;
  maxTotal: number;
  deadlineMs: number;
  maxBytes: number;
}

interface Pending {
  address: string;
  socket: Socket;
  timer: NodeJS.Timeout;
  stopCounting?: () => void;
}

export class PreAuthGuard {
  private readonly pending = new Map<string, Pending>();
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly limits: PreAuthLimits, private readonly logs = new LogLimiter()) {}

  /** A TCP connection was accepted (before TLS and HTTP): admit it under the caps, or close it. */
  accept(socket: Socket): void {
    const address = socket.remoteAddress ?? '?';
    const key = keyOf(socket);
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (fromAddress >= this.limits.maxPerAddress || this.pending.size >= this.limits.maxTotal) {
      this.logs.warn('server.preauth_refused', { from: address, reason: fromAddress >= this.limits.maxPerAddress ? `more than ${this.limits.maxPerAddress} unauthenticated connections from this address` : `more than ${this.limits.maxTotal} unauthenticated connections` });
      socket.destroy();
      return;
    }
    const timer = setTimeout(() => {
      this.logs.warn('server.preauth_timeout', { from: address, reason: `no completed handshake within ${this.limits.deadlineMs} ms of connecting` });
      socket.destroy();
    }, this.limits.deadlineMs);
    timer.unref();
    this.pending.set(key, { address, socket, timer });
    this.perAddress.set(address, fromAddress + 1);
    socket.once('close', () => this.release(key));
  }

  /** The WebSocket upgrade went through: count what arrives until the handshake ends. */
  watch(upgraded: Duplex & { remoteAddress?: string; remotePort?: number }): void {
    const entry = this.pending.get(keyOf(upgraded));
    if (!entry) return;
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= this.limits.maxBytes) return;
      this.logs.warn('server.preauth_too_large', { from: entry.address, reason: `sent more than ${this.limits.maxBytes} bytes before authenticating` });
      upgraded.destroy();
      entry.socket.destroy();
    };
    upgraded.on('data', onData);
    entry.stopCounting = () => upgraded.off('data', onData);
  }

  /** The handshake succeeded: the connection is a server link now, no longer bounded here. */
  authenticated(socket: { remoteAddress?: string; remotePort?: number }): void {
    this.release(keyOf(socket));
  }

  /** How many connections are waiting to authenticate (for tests and the status view). */
  get size(): number {
    return this.pending.size;
  }

  private release(key: string): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    this.pending.delete(key);
    clearTimeout(entry.timer);
    entry.stopCounting?.();
    const left = (this.perAddress.get(entry.address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(entry.address, left);
    else this.perAddress.delete(entry.address);
  }
}

/** Raw and TLS sockets of one connection share the remote address and port. */
function keyOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}
