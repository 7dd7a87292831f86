/**
 * The mesh: this server's listening socket and its one link to every other server.
 *
 * One link per pair, by rule rather than by race: the server whose name sorts first dials; a dial
 * from the other one is only a wake-up call ("dial back"), refused before authentication, that
 * makes the first one dial at once. So a restarted server is linked again immediately whichever
 * side restarted, and two links to the same server never coexist. A new link from a server that
 * already has one (it restarted, or its old socket has not timed out yet) replaces the old link.
 *
 * Dialing never stops while a server is down: exponential backoff with jitter, capped at 5 s.
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { EventEmitter } from 'eventemitter3';
import WebSocket, { WebSocketServer } from 'ws';
import type { ServerRouter } from '../core/endpoint.js';
import { Kind, type Envelope } from '../core/envelope.js';
import { ConfigError, UnknownPeerError } from '../core/errors.js';
import { log } from '../core/logger.js';
import { formatHost } from '../core/host.js';
import type { NormalizedServerConfig } from './options.js';
import { CloseCode, HandshakeError, acceptHandshake, dialHandshake, type Admission, type HandshakeContext } from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import { LogLimiter } from '../core/log-limiter.js';
import { PreAuthGuard, boundBytes } from './pre-auth-guard.js';
import type { ServerLoad } from './load.js';
import { Peer } from './peer.js';
import { LINK_CONTROL, WsLink } from './ws-link.js';

const DIAL_BACK = 'dial back: the server whose name sorts first dials';

export type RecordSink = (from: string, target: number, body: Uint8Array, count: number) => void;

interface MeshEvents {
  up: [server: string, instance: string];
  down: [server: string];
  /** An envelope too big for any frame was dropped on its way to `server`. */
  oversized: [envelope: Envelope, bytes: number, server: string];
}

export class Mesh extends EventEmitter<MeshEvents> implements ServerRouter {
  /** Random per process start; peers compare it to tell a restart from a reconnect. */
  readonly instance = randomUUID();
  readonly peers = new Map<string, Peer>();
  private readonly context: HandshakeContext;
  private httpServer?: http.Server;
  private wss?: WebSocketServer;
  private stopping = false;
  /** Refusals are triggered from outside: rate-limited. */
  private readonly refusals = new LogLimiter();
  private readonly guard: PreAuthGuard;
  /** When the port opened and dialing began (undefined before). */
  startedAt?: number;

  constructor(readonly config: NormalizedServerConfig, private readonly sink: RecordSink) {
    super();
    for (const [name, address] of config.hosts) {
      if (name !== config.thisServerName) this.peers.set(name, new Peer(name, address, config.outbox));
    }
    this.context = { me: config.thisServerName, key: config.key, instance: this.instance, timeoutMs: config.handshakeTimeoutMs };
    this.guard = new PreAuthGuard({
      maxPerAddress: config.maxUnauthenticatedPerAddress, maxTotal: config.maxUnauthenticated, deadlineMs: config.handshakeTimeoutMs, maxBytes: config.preAuthMaxBytes,
    }, this.refusals);
  }

  get me(): string {
    return this.config.thisServerName;
  }

  /** ServerRouter: hands an envelope to the link (or the outbox) of `toServer`. */
  forward(toServer: string, toWorker: number, envelope: Envelope): void {
    const peer = this.peers.get(toServer);
    if (!peer) {
      throw new UnknownPeerError(`there is no server '${toServer}' (known: ${[...this.config.hosts.keys()].join(', ')})`);
    }
    // A one-way message needs no return address: leave the cross-server fields off the wire.
    peer.send(toWorker, envelope.kind === Kind.Message && envelope.toServer !== undefined ? { ...envelope, fromServer: undefined, toServer: undefined, toWorker: undefined } : envelope);
  }

  connectedNames(): string[] {
    return [...this.peers.values()].filter((p) => p.isUp).map((p) => p.name).sort();
  }

  clockOffsets(): Record<string, number> {
    const offsets: Record<string, number> = {};
    for (const peer of this.peers.values()) {
      const offset = peer.heartbeat?.clock.offsetMs;
      if (peer.isUp && offset !== undefined) offsets[peer.name] = offset;
    }
    return offsets;
  }

  loadOf(server: string): ServerLoad | undefined {
    const peer = this.peers.get(server);
    return peer?.isUp ? peer.heartbeat?.load : undefined;
  }

  instanceOf(server: string): string | undefined {
    return server === this.me ? this.instance : this.peers.get(server)?.instance;
  }

  /** Listens, then dials every other server. */
  async start(): Promise<void> {
    await this.listen();
    this.startedAt = Date.now();
    log.info('server.listening', { server: this.me, host: this.config.listen.host, port: this.config.listen.port, tls: Boolean(this.config.tls) });
    for (const peer of this.peers.values()) this.scheduleDial(peer, 0);
  }

  /** Closes every link (peers see it at once rather than after a heartbeat timeout) and the port. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const peer of this.peers.values()) {
      clearTimeout(peer.dialTimer);
      peer.heartbeat?.stop();
      peer.link?.close(CloseCode.shutdown, 'shutting down');
    }
    this.wss?.close();
    await new Promise<void>((resolve) => (this.httpServer ? this.httpServer.close(() => resolve()) : resolve()));
  }

  // ---- accepting ---------------------------------------------------------------------------

  private listen(): Promise<void> {
    const { tls, listen, maxFrameBytes } = this.config;
    const refuseHttp: http.RequestListener = (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('boxwire cluster port: server links only\n');
    };
    this.httpServer = tls
      ? https.createServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, refuseHttp)
      : http.createServer(refuseHttp);
    // Every TCP connection is bounded (count, deadline, bytes) until it authenticates.
    this.httpServer.on('connection', (socket) => this.guard.accept(socket));
    this.httpServer.on('tlsClientError', (error, socket) => {
      this.refusals.warn('server.tls_refused', { from: socket.remoteAddress, reason: error.message });
    });
    this.wss = new WebSocketServer({ server: this.httpServer, maxPayload: maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.wss.on('connection', (socket, request) => {
      this.guard.watch(request.socket);
      this.onIncoming(socket, request.socket);
    });
    this.wss.on('error', () => {}); // the http server reports listen errors below
    return new Promise((resolve, reject) => {
      this.httpServer!.once('error', (error: NodeJS.ErrnoException) => {
        reject(new ConfigError(`SERVER_CLUSTERING: cannot listen on ${listen.host}:${listen.port} (${error.code ?? error.message}); is another server using it, or is the address not on this machine?`));
      });
      this.httpServer!.listen(listen.port, listen.host, () => resolve());
    });
  }

  private onIncoming(socket: WebSocket, connection: IncomingMessage['socket']): void {
    const remote = `${connection.remoteAddress}:${connection.remotePort}`;
    let socketError: Error | undefined;
    socket.on('error', (error) => (socketError = error));
    acceptHandshake(socket, this.context, (dialer) => this.admit(dialer), (result) => {
      if (result instanceof HandshakeError) {
        const reason = socketError ? `${result.reason} (${socketError.message})` : result.reason;
        if (result.reason === DIAL_BACK) log.debug('server.dial_back', { server: result.peer });
        else this.refusals.warn('server.link_refused', { from: remote, claimed: result.peer, reason });
        return;
      }
      this.guard.authenticated(connection);
      this.establish(this.peers.get(result.peer)!, socket, result.instance, false);
    });
  }

  private admit(dialer: string): Admission {
    if (this.stopping) return { accept: false, reason: 'shutting down' };
    const peer = this.peers.get(dialer);
    if (!peer) return { accept: false, reason: `unknown server '${dialer}' (not in this server's hosts)` };
    if (dialer > this.me) {
      if (!peer.isUp) this.dialSoon(peer);
      return { accept: false, reason: DIAL_BACK };
    }
    return { accept: true };
  }

  // ---- dialing -----------------------------------------------------------------------------

  private scheduleDial(peer: Peer, delayMs: number): void {
    if (this.stopping || peer.isUp || peer.dialing) return;
    clearTimeout(peer.dialTimer);
    peer.dialTimer = setTimeout(() => this.dial(peer), delayMs);
  }

  /** A wake-up call from the peer: dial now rather than at the end of the backoff. */
  private dialSoon(peer: Peer): void {
    if (peer.dialing || peer.isUp) return;
    peer.backoff.reset();
    this.scheduleDial(peer, 0);
  }

  private dial(peer: Peer): void {
    peer.dialTimer = undefined;
    if (this.stopping || peer.isUp || peer.dialing) return;
    peer.dialing = true;
    const { tls, maxFrameBytes, handshakeTimeoutMs, listen } = this.config;
    const bindable = isIP(listen.host) !== 0 && listen.host !== '0.0.0.0' && listen.host !== '::';
    const socket = new WebSocket(`${tls ? 'wss' : 'ws'}://${formatHost(peer.address.host, peer.address.port)}/boxwire`, {
      localAddress: bindable ? listen.host : undefined,
      maxPayload: maxFrameBytes,
      perMessageDeflate: false,
      handshakeTimeout: handshakeTimeoutMs,
      // RFC 6455 masking protects proxies from script-chosen bytes sent by browsers; between
      // authenticated servers it only costs an XOR pass over every frame (and the peer's unmask).
      generateMask: (mask: Buffer) => void mask.fill(0),
      ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: true } : {}),
    });
    let socketError: Error | undefined;
    socket.on('error', (error) => (socketError = error));
    // The answering side is not authenticated yet either: same byte budget until it proves the key.
    let stopCounting: (() => void) | undefined;
    socket.once('upgrade', (response: IncomingMessage) => {
      stopCounting = boundBytes(response.socket, this.config.preAuthMaxBytes, () => {
        this.refusals.warn('server.preauth_too_large', { server: peer.name, reason: `the dialed server sent more than ${this.config.preAuthMaxBytes} bytes before authenticating` });
        socket.terminate();
      });
    });
    dialHandshake(socket, this.context, peer.name, (result) => {
      stopCounting?.();
      peer.dialing = false;
      if (result instanceof HandshakeError) {
        socket.terminate();
        this.dialFailed(peer, socketError ? socketError.message : result.reason);
        return;
      }
      if (this.stopping) return void socket.close(CloseCode.shutdown, 'shutting down');
      this.establish(peer, socket, result.instance, true);
    });
  }

  private dialFailed(peer: Peer, reason: string): void {
    const wakeUp = reason.includes(DIAL_BACK);
    const delay = peer.backoff.next();
    // Retrying forever: log a reason when it changes, not every attempt.
    if (!wakeUp && reason !== peer.lastFailure) {
      // A server not started yet is normal at cluster start-up; anything else deserves a warning.
      const level = reason.includes('ECONNREFUSED') ? 'info' : 'warn';
      log[level]('server.dial_failed', { server: peer.name, reason, note: 'retrying with backoff' });
    }
    else log.debug('server.dial_failed', { server: peer.name, reason, retryInMs: delay });
    peer.lastFailure = reason;
    this.scheduleDial(peer, delay);
  }

  // ---- links -------------------------------------------------------------------------------

  private establish(peer: Peer, socket: WebSocket, instance: string, dialed: boolean): void {
    const previous = peer.link?.isOpen ? peer.link : undefined;
    const restarted = peer.instance !== undefined && peer.instance !== instance;
    clearTimeout(peer.dialTimer);
    peer.backoff.reset();
    peer.lastFailure = undefined;
    peer.heartbeat?.stop();
    const link: WsLink = new WsLink(socket, this.config.maxFrameBytes, {
      closed: (code, reason) => this.onLinkClosed(peer, link, code, reason),
      malformed: (error) => log.warn('server.link_malformed', { server: peer.name, error, note: 'link closed; it reconnects' }),
      oversized: (envelope, bytes) => this.emit('oversized', envelope, bytes, peer.name),
    }, dialed);
    link.setReceiver((target, body, count) => {
      if (target === LINK_CONTROL) peer.heartbeat?.handle(body);
      else this.sink(peer.name, target, body, count);
    });
    peer.link = link;
    peer.instance = instance;
    peer.connects++;
    if (previous) {
      previous.close(CloseCode.replaced, 'replaced by a new link');
      if (restarted) this.emit('down', peer.name);
    }
    peer.heartbeat = new Heartbeat(link, {
      peer: peer.name, intervalMs: this.config.heartbeatIntervalMs, deadAfterMs: this.config.deadAfterMs, clockSkewWarnMs: this.config.clockSkewWarnMs,
    }, () => link.close(CloseCode.dead, 'no heartbeat', true));
    peer.heartbeat.start();
    const drained = peer.drainTo(link);
    log.info('server.link_up', { server: peer.name, instance, drained });
    if (!previous || restarted) this.emit('up', peer.name, instance);
  }

  private onLinkClosed(peer: Peer, link: WsLink, code: number, reason: string): void {
    if (peer.link !== link) return; // a replaced link
    peer.heartbeat?.stop();
    peer.link = undefined;
    // A peer that said it is shutting down stopped on purpose (Ctrl-C, a deploy): not a warning.
    peer.downs++;
    const orderly = code === CloseCode.shutdown;
    if (!this.stopping) log[orderly ? 'info' : 'warn']('server.link_down', { server: peer.name, code, reason: reason || undefined });
    this.emit('down', peer.name);
    this.scheduleDial(peer, peer.backoff.next());
  }
}
