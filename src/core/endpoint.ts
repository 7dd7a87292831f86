import { assertEncodable } from './codec.js';
import { Channel, Kind, decodeEnvelopes, type Envelope } from './envelope.js';
import { EncodeError, PeerDownError, RemoteError, UnknownPeerError, toWireError, type WireError } from './errors.js';
import { log } from './logger.js';
import { isThenable } from './value-kinds.js';
import { HeldMessages } from './held-messages.js';
import { HandlerRegistry, assertMethodName, type Handler } from './registry.js';
import { DEFAULT_TIMEOUT_MS, RequestTable } from './request-table.js';
import { REQUESTS_DOWN, WORKER_DOWN, settleRequestsDown, settleWorkerDown } from './requests-down.js';
import { messageCounts } from '../metrics/counters.js';
import { describeAddress, type Address, type ServerRouter, type WorkerSlotView } from './address.js';
import { answerEnvelope, failureEnvelope, requesterOf } from './replies.js';
import { ReplyContext, ignoreReply } from './reply-context.js';

export type Registries = Record<Channel, HandlerRegistry>;

export function createRegistries(): Registries {
  return { [Channel.Cpu]: new HandlerRegistry(), [Channel.Server]: new HandlerRegistry(), [Channel.System]: new HandlerRegistry() };
}

export { FROM_ANOTHER_SERVER, describeAddress, type Address, type ServerRouter, type WorkerSlotView } from './address.js';

/**
 * One process's messaging core, shared by every transport: handler registries per channel, the
 * request table, envelope encoding and dispatch. Subclasses decide where an encoded envelope goes
 * (`route`): the solo process to itself, a worker to its master, a master to workers or servers.
 */
export abstract class Endpoint {
  readonly requests = new RequestTable();
  /** This server's name once SERVER_CLUSTERING is configured. */
  serverName?: string;
  /** Set in the process that owns the server links (the master, or a solo process). */
  serverRouter?: ServerRouter;
  private readonly warnedNoHandler = new Set<string>();
  private inFlightHandlers = 0;
  private idleWaiters: Array<() => void> = [];
  /**
   * Set while this process's user code is starting (see beginStartUp): messages whose method has
   * no handler yet wait here instead of being answered "no handler".
   */
  protected held?: HeldMessages;
  private startUps = 0;
  private stopWatchingRegistrations?: () => void;

  /**
   * Registries are passed in so handlers registered before the process knows its role (e.g.
   * `CPU_CLUSTERING.on` at the top of a script) survive the switch to master or worker.
   */
  constructor(public workerId: number, readonly registries: Registries = createRegistries()) {}

  /**
   * Sends one envelope (its data already checked as encodable) toward `to`. Throws synchronously
   * when it cannot be accepted (unknown peer, full outbox).
   */
  protected abstract route(to: Address, envelope: Envelope): void;

  /** Sends an envelope that must cross to another server. */
  protected routeRemote(to: Address, envelope: Envelope): void {
    if (!this.serverRouter) {
      throw new UnknownPeerError(`cannot reach server '${to.server}': SERVER_CLUSTERING is not configured in this process`);
    }
    this.serverRouter.forward(to.server!, to.worker, envelope);
  }

  // ---- the process contract -------------------------------------------------------------
  // What server/, store/ and roles/ need from "this process", whichever it is (solo, master,
  // worker): reached through cpu/index.ts, never by naming a cpu class.

  /** Workers this server runs (1 when it runs none: the process is worker 1 of 1). */
  abstract readonly workerCount: number;

  /** Ids of this server's workers whose process is up and ready (a solo process is worker 1; none in a worker). */
  readyWorkerIds(): number[] {
    return [];
  }

  /** `{ workerId: pid }` of this server's workers (a solo process is worker 1; none in a worker). */
  workerPids(): Record<number, number | undefined> {
    return {};
  }

  /** The worker ids this process supervises, for metrics (none outside a master). */
  workerSlots(): readonly WorkerSlotView[] {
    return [];
  }

  /**
   * A record (a batch of envelopes) another server sent to `target` on this server (a worker id,
   * MASTER, ANY_WORKER or ALL_WORKERS). Only the process that owns the server links takes them;
   * throws UnknownPeerError when `target` does not exist here.
   */
  deliverFromServer(_target: number, _body: Uint8Array, _count: number): void {
    throw new UnknownPeerError('a worker process cannot take server links');
  }

  /**
   * `listener(workerId)` when a worker's process went away unexpectedly (it is being re-forked).
   * Returns an unsubscribe function. Only a master has workers to lose.
   */
  onWorkerDown(_listener: (workerId: number) => void): () => void {
    return () => {};
  }

  /**
   * `listener(workerId, pid)` whenever one of this server's worker processes exits, expected or
   * not (a crash, or an old process retired by a rolling restart). Returns an unsubscribe function.
   */
  onProcessExit(_listener: (workerId: number, pid: number) => void): () => void {
    return () => {};
  }

  /**
   * Sends one encoded envelope (`encodeEnvelope`) straight to the process `pid` serving `workerId`
   * on this server, even before it reports ready — SHARED_STORE feeds a worker's read replica this
   * way, as work() may await store calls. Returns false when there is no such process (it is gone,
   * or this process has no workers): the caller forgets it.
   */
  sendToProcess(_workerId: number, _pid: number, _body: Uint8Array): boolean {
    return false;
  }

  /**
   * A one-way System message whose data boxwire itself built from values it already copied and
   * checked (the store's write batches): skips the per-call encodability walk of `message`.
   */
  notify(to: Address, method: string, data: unknown): void {
    this.route(to, this.envelope(Kind.Message, Channel.System, method, data, 0, to));
    messageCounts.sent[Channel.System]++;
  }

  /** Fails `request` back to its requester with `error` (see failureEnvelope). */
  failRequest(request: Envelope, error: unknown): void {
    this.answer(request, Kind.Failure, toWireError(error, this.origin));
  }

  /** Human-readable name of this process, used as the origin of remote errors. */
  get origin(): string {
    return describeAddress({ server: this.serverName, worker: this.workerId });
  }

  message(to: Address, channel: Channel, method: string, data: unknown): void {
    assertMethodName(method);
    assertEncodable(data);
    this.route(to, this.envelope(Kind.Message, channel, method, data, 0, to));
    messageCounts.sent[channel]++;
  }

  request<T = unknown>(to: Address, channel: Channel, method: string, data: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
    assertMethodName(method);
    // Checked before the request opens, so bad data throws with nothing pending.
    assertEncodable(data);
    const { id, promise } = this.requests.open<T>(to.server ?? '', to.worker, method, timeoutMs);
    try {
      this.route(to, this.envelope(Kind.Request, channel, method, data, id, to));
    } catch (error) {
      this.requests.reject(id, error as Error);
      promise.catch(() => {});
      throw error;
    }
    messageCounts.sent[channel]++;
    return promise;
  }

  /** Rejects the requests waiting on peers that went down. */
  peerDown(matches: (peer: string) => boolean, who: string): void {
    this.requests.rejectPeers(matches, () => new PeerDownError(who));
  }

  /** Decodes and dispatches a record (a batch of envelopes) that arrived for this process. */
  receive(body: Uint8Array): void {
    let envelopes: Envelope[];
    try {
      envelopes = decodeEnvelopes(body);
    } catch (error) {
      log.warn('envelope.malformed', { at: this.origin, error });
      return;
    }
    for (const envelope of envelopes) this.dispatch(envelope);
  }

  dispatch(envelope: Envelope): void {
    messageCounts.received[envelope.channel]++;
    if (envelope.kind === Kind.Reply) {
      this.requests.resolve(envelope.id, envelope.data);
      return;
    }
    if (envelope.kind === Kind.Failure) {
      this.requests.reject(envelope.id, new RemoteError(envelope.data as WireError));
      return;
    }
    if (envelope.channel === Channel.System && envelope.kind === Kind.Message && (envelope.method === REQUESTS_DOWN || envelope.method === WORKER_DOWN)) {
      if (envelope.method === REQUESTS_DOWN) settleRequestsDown(this.requests, envelope.data);
      else settleWorkerDown((matches, who) => this.peerDown(matches, who), envelope.data);
      return;
    }
    const handlers = this.registries[envelope.channel]?.get(envelope.method) ?? [];
    const held = this.held;
    if (held && (handlers.length === 0 || held.has(envelope.channel, envelope.method))) {
      // Starting: wait for a handler (and keep behind earlier messages of the same method).
      held.hold(envelope, () => this.dispatch(envelope));
      return;
    }
    if (handlers.length === 0) {
      this.noHandler(envelope);
      return;
    }
    this.runHandlers(envelope, handlers);
  }

  // ---- start-up ----------------------------------------------------------------------------

  /**
   * User code of this process starts (`work()`, a box's `onBoot`): from now until the matching
   * `finishStartUp`, a message for a method with no handler waits for one instead of failing.
   * Calls nest; the last finish releases what still waits (to the usual no-handler answer).
   */
  beginStartUp(): void {
    this.startUps++;
    if (this.held) return;
    this.held = new HeldMessages();
    const listeners: Array<() => void> = [];
    for (const channel of [Channel.Cpu, Channel.Server, Channel.System]) {
      const registrations = this.registries[channel].registrations;
      const onChange = (method: string, present: boolean) => {
        // After the registering code's own turn: it may still be setting up around `on()`.
        if (present) setImmediate(() => this.releaseHeld(channel, method));
      };
      registrations.on('change', onChange);
      listeners.push(() => registrations.off('change', onChange));
    }
    this.stopWatchingRegistrations = () => listeners.forEach((off) => off());
  }

  finishStartUp(): void {
    if (this.startUps === 0 || --this.startUps > 0) return;
    const held = this.held;
    this.held = undefined;
    this.stopWatchingRegistrations?.();
    this.stopWatchingRegistrations = undefined;
    held?.releaseAll();
  }

  /** Whether this process's user code is still starting. */
  get starting(): boolean {
    return this.held !== undefined;
  }

  /** What waits for a handler, `{ method: count }` (for the start-up warning). */
  heldMethods(): Record<string, number> {
    return this.held?.describe() ?? {};
  }

  /** Delivers again what waited for `method` (a handler for it appeared). */
  protected releaseHeld(channel: Channel, method: string): void {
    this.held?.release(channel, method);
  }

  /**
   * Another endpoint takes over this process (CPU_CLUSTERING turning a solo process into a
   * master): what waited here waits there, and is delivered by the new endpoint.
   */
  adoptHeld(previous: Endpoint, redeliver: (envelope: Envelope) => void = (envelope) => this.dispatch(envelope)): void {
    const theirs = previous.held;
    if (!theirs || theirs.size === 0) return;
    const into = this.held ?? new HeldMessages();
    theirs.moveTo(into, (envelope) => () => redeliver(envelope));
    if (!this.held) into.releaseAll();
  }

  /** Resolves once no request handler is running (used before a worker stops). */
  whenIdle(): Promise<void> {
    if (this.inFlightHandlers === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private runHandlers(envelope: Envelope, handlers: readonly Handler[]): void {
    if (envelope.kind !== Kind.Request) {
      this.runOneWay(envelope, handlers);
      return;
    }
    if (handlers.length === 1 && handlers[0].length < 2) {
      this.runAnsweringHandler(envelope, handlers[0]);
      return;
    }
    const context = new ReplyContext(this, envelope);
    this.inFlightHandlers++;
    for (const handler of handlers) {
      try {
        // Only a handler that declares `reply` gets a bound one (saves a closure per request).
        const result = handler(envelope.data, handler.length >= 2 ? context.bound() : ignoreReply);
        if (isThenable(result)) {
          result.then((value) => {
            if (value !== undefined || handler.length < 2) context.reply(value);
          }, (error: unknown) => context.fail(error));
        } else if (result !== undefined || handler.length < 2) {
          context.reply(result);
        }
      } catch (error) {
        context.fail(error);
      }
    }
  }

  /**
   * The common request: one handler, which answers with what it returns. A synchronous answer
   * leaves at once, with no reply state kept; only a Promise needs a ReplyContext to wait on.
   */
  private runAnsweringHandler(envelope: Envelope, handler: Handler): void {
    let result: unknown;
    try {
      result = handler(envelope.data, ignoreReply);
    } catch (error) {
      this.failRequest(envelope, error);
      return;
    }
    if (!isThenable(result)) {
      this.answer(envelope, Kind.Reply, result);
      return;
    }
    const context = new ReplyContext(this, envelope);
    this.inFlightHandlers++;
    result.then((value) => context.reply(value), (error: unknown) => context.fail(error));
  }

  /** One-way messages: no reply to build; a failing handler is logged and never crashes the process. */
  private runOneWay(envelope: Envelope, handlers: readonly Handler[]): void {
    for (const handler of handlers) {
      try {
        const result = handler(envelope.data, ignoreReply);
        if (isThenable(result)) result.then(undefined, (error) => this.handlerFailed(envelope, error));
      } catch (error) {
        this.handlerFailed(envelope, error);
      }
    }
  }

  /** @internal Called by ReplyContext when a request has been answered. */
  settleHandler(): void {
    if (--this.inFlightHandlers === 0) this.notifyIdle();
  }

  /** @internal */
  handlerFailed(envelope: Envelope, error: unknown): void {
    log.warn('handler.failed', { method: envelope.method, at: this.origin, error });
  }

  /** @internal Sends the answer to a request; an answer that cannot be encoded becomes a failure. */
  answer(request: Envelope, kind: Kind.Reply | Kind.Failure, data: unknown): void {
    let envelope = answerEnvelope(request, kind, data, this);
    try {
      assertEncodable(data);
    } catch (error) {
      envelope = failureEnvelope(request, error instanceof EncodeError ? new EncodeError(`the reply to '${request.method}' cannot be encoded: ${error.message}`) : error, this);
    }
    const to = requesterOf(request);
    try {
      this.route(to, envelope);
      messageCounts.sent[request.channel]++;
    } catch (error) {
      log.warn('reply.undeliverable', { method: request.method, to: describeAddress(to), error });
    }
  }

  private noHandler(envelope: Envelope): void {
    const message = `no handler for '${envelope.method}' on ${this.origin}`;
    if (envelope.kind === Kind.Request) {
      this.answer(envelope, Kind.Failure, { name: 'NoHandlerError', message, origin: this.origin, code: 'BOXWIRE_NO_HANDLER' });
      return;
    }
    const key = `${envelope.channel}:${envelope.method}`;
    if (this.warnedNoHandler.has(key)) return;
    this.warnedNoHandler.add(key);
    log.warn('message.no_handler', { method: envelope.method, at: this.origin, note: 'logged once per method' });
  }

  private envelope(kind: Kind, channel: Channel, method: string, data: unknown, id: number, to: Address): Envelope {
    const crossesServers = to.server !== undefined && to.server !== this.serverName;
    return {
      kind, channel, method, data, id,
      fromWorker: this.workerId,
      fromServer: crossesServers ? this.serverName : undefined,
      toServer: crossesServers ? to.server : undefined,
      toWorker: crossesServers ? to.worker : undefined,
    };
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
