/**
 * Typed errors. Every error boxwire raises has a stable `code` so callers can branch on it
 * without string matching, and a message that says what to do next.
 */
export class BoxwireError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A request got no reply before its deadline. */
export class TimeoutError extends BoxwireError {
  constructor(readonly methodName: string, readonly target: string, readonly timeoutMs: number) {
    super('BOXWIRE_TIMEOUT', `request '${methodName}' to ${target} got no reply within ${timeoutMs} ms (raise timeoutMs, or check that the target handles it)`);
  }
}

/** The process or server a request was waiting on went away. */
export class PeerDownError extends BoxwireError {
  constructor(readonly target: string, detail = 'went down') {
    super('BOXWIRE_PEER_DOWN', `${target} ${detail} before replying; the request may or may not have run`);
  }
}

/** A bounded queue (outbox, pending table) is full; the message was not accepted. */
export class OverflowError extends BoxwireError {
  constructor(readonly what: string, readonly limit: string) {
    super('BOXWIRE_OVERFLOW', `${what} is full (${limit}); nothing was queued. Slow down, or raise the limit`);
  }
}

/** Data that msgpack cannot carry (functions, symbols, cycles). Nothing was sent. */
export class EncodeError extends BoxwireError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('BOXWIRE_ENCODE', `cannot encode message data: ${detail}; nothing was sent (send plain data: objects, arrays, strings, numbers, bigint, Date, Buffer, Map, Set)`, options);
  }
}

/** The caller named a worker or server that does not exist. */
export class UnknownPeerError extends BoxwireError {
  constructor(detail: string) {
    super('BOXWIRE_UNKNOWN_PEER', detail);
  }
}

/** Misuse of the API or a bad configuration value. */
export class ConfigError extends BoxwireError {
  constructor(message: string) {
    super('BOXWIRE_CONFIG', message);
  }
}

/** What travels on the wire when a handler throws. */
export interface WireError {
  name: string;
  message: string;
  origin: string;
  code?: string;
  stack?: string;
}

/** A handler on another process threw, or no handler existed. Carries the remote error's identity. */
export class RemoteError extends BoxwireError {
  readonly remoteName: string;
  readonly remoteMessage: string;
  readonly origin: string;
  readonly remoteCode?: string;
  readonly remoteStack?: string;
  constructor(wire: WireError) {
    super('BOXWIRE_REMOTE', `${wire.name} on ${wire.origin}: ${wire.message}`);
    this.remoteName = wire.name;
    this.remoteMessage = wire.message;
    this.origin = wire.origin;
    this.remoteCode = wire.code;
    this.remoteStack = wire.stack;
  }
}

export function toWireError(error: unknown, origin: string): WireError {
  if (error instanceof RemoteError) {
    return { name: error.remoteName, message: error.remoteMessage, origin: error.origin, code: error.remoteCode };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, origin, code: typeof code === 'string' ? code : undefined, stack: error.stack };
  }
  return { name: 'Error', message: String(error), origin };
}

/**
 * A key, path or name with a segment that would reach an object's prototype (`__proto__`,
 * `prototype`, `constructor`). Such input arrives from clients to pollute every object of a
 * process; it is refused wherever a path or name from outside is interpreted. Nothing changed.
 */
export class UnsafeKeyError extends BoxwireError {
  /** An API client gets this as a 400 (its input was refused). */
  readonly status = 400;
  constructor(readonly where: string, readonly key: string) {
    super('BOXWIRE_UNSAFE_KEY', `${where}: ${JSON.stringify(key.slice(0, 100))} has a segment '__proto__', 'prototype' or 'constructor', which is refused (it could reach Object.prototype); rename the field`);
  }
}
