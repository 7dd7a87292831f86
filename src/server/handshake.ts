/**
 * The authentication handshake that opens every server link, before any message is accepted.
 * Mutual HMAC challenge–response over the shared cluster key: each side proves it knows the key
 * by signing the other side's fresh random nonce, so neither a replayed nor a forged proof passes,
 * and the key itself never crosses the wire.
 *
 *   dialer → acceptor   hello     [HELLO, version, dialerName, acceptorName, nonceD, instance]
 *   acceptor → dialer   challenge [CHALLENGE, acceptorName, nonceA, proofA, instance]
 *                                   proofA = HMAC(key, "acceptor" dialer acceptor nonceD nonceA)
 *   dialer → acceptor   proof     [PROOF, proofD]   proofD = HMAC(key, "dialer" … nonceA nonceD)
 *   acceptor → dialer   welcome   [WELCOME]          — from here on, binary frames only
 *   either              refused   [REFUSED, reason]  — then the socket closes
 *
 * Both callbacks fire synchronously inside the socket's message handler, so the caller attaches
 * the link's own handler before the next message can be emitted.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type WebSocket from 'ws';
import { decode, encode } from '../core/codec.js';

const HELLO = 'bw-hello';
const CHALLENGE = 'bw-challenge';
const PROOF = 'bw-proof';
const WELCOME = 'bw-welcome';
const REFUSED = 'bw-refused';
export const PROTOCOL_VERSION = 1;

/** Close codes (4000–4999 are for applications). */
export const CloseCode = {
  refused: 4001,
  protocol: 4002,
  timeout: 4003,
  replaced: 4004,
  dead: 4005,
  shutdown: 4006,
} as const;

export interface HandshakeContext {
  me: string;
  key: Buffer;
  /** Random per process start, so peers can tell a restart from a reconnect. */
  instance: string;
  timeoutMs: number;
}

/** Why a handshake failed; `peer` is the claimed name when one was given. */
export class HandshakeError extends Error {
  constructor(readonly reason: string, readonly peer?: string) {
    super(reason);
  }
}

/** Acceptor's decision once it knows (but before it verified) who is dialing. */
export type Admission = { accept: true } | { accept: false; reason: string };

export interface Established {
  peer: string;
  instance: string;
}

function proof(key: Buffer, role: string, dialer: string, acceptor: string, first: Buffer, second: Buffer): Buffer {
  return createHmac('sha256', key).update(`${role}\0${dialer}\0${acceptor}\0`).update(first).update(second).digest();
}

function sameProof(expected: Buffer, given: unknown): boolean {
  return given instanceof Uint8Array && given.length === expected.length && timingSafeEqual(expected, given);
}

function isNonce(value: unknown): value is Buffer {
  return value instanceof Uint8Array && value.length === 32;
}

/**
 * Runs one side's steps: `step(message)` returns true when done. Handles the timeout, an early
 * close, and anything that is not a handshake message.
 */
function converse(socket: WebSocket, timeoutMs: number, fail: (error: HandshakeError) => void, step: (message: unknown[]) => boolean): void {
  let finished = false;
  const finish = () => {
    finished = true;
    clearTimeout(timer);
    socket.off('message', onMessage);
    socket.off('close', onClose);
  };
  const abort = (error: HandshakeError, code: number) => {
    if (finished) return;
    finish();
    if (code === CloseCode.timeout) socket.terminate();
    else send(socket, [REFUSED, error.reason], code);
    fail(error);
  };
  const timer = setTimeout(() => abort(new HandshakeError(`no handshake within ${timeoutMs} ms`), CloseCode.timeout), timeoutMs);
  const onClose = () => {
    if (finished) return;
    finish();
    fail(new HandshakeError('connection closed during the handshake'));
  };
  const onMessage = (data: Buffer, isBinary: boolean) => {
    if (finished) return;
    let message: unknown;
    try {
      if (!isBinary) throw new Error('text');
      message = decode(data);
    } catch {
      return abort(new HandshakeError('sent something that is not a handshake message'), CloseCode.protocol);
    }
    if (!Array.isArray(message) || typeof message[0] !== 'string') {
      return abort(new HandshakeError('sent something that is not a handshake message'), CloseCode.protocol);
    }
    if (message[0] === REFUSED) {
      finish();
      // Closed here too: an unauthenticated dialer that "refuses" first must not keep the socket.
      socket.close(CloseCode.refused, 'refused by the peer');
      return fail(new HandshakeError(`refused by the peer: ${describeReason(message[1])}`));
    }
    try {
      if (step(message)) finish();
    } catch (error) {
      const reason = error instanceof HandshakeError ? error : new HandshakeError((error as Error).message);
      abort(reason, CloseCode.refused);
    }
  };
  socket.on('message', onMessage);
  socket.once('close', onClose);
}

/**
 * The peer's reason, for the log. Not `String(reason)`: before authentication it is anyone's
 * msgpack, and an object whose `toString` is not a function makes String() throw (which, in a
 * socket listener, would take the whole process down).
 */
function describeReason(reason: unknown): string {
  return typeof reason === 'string' ? reason.slice(0, 200) : 'no reason given';
}

function send(socket: WebSocket, message: unknown[], closeCode?: number): void {
  if (socket.readyState !== socket.OPEN) return;
  socket.send(encode(message), { binary: true });
  if (closeCode !== undefined) socket.close(closeCode, String(message[1] ?? '').slice(0, 100));
}

/** Acceptor side: `admit` decides on the claimed name; `done` gets the verified peer or an error. */
export function acceptHandshake(
  socket: WebSocket,
  context: HandshakeContext,
  admit: (dialer: string) => Admission,
  done: (result: Established | HandshakeError) => void,
): void {
  let dialer = '';
  let dialerInstance = '';
  let expected: Buffer | undefined;
  converse(socket, context.timeoutMs, done, (message) => {
    if (!expected) {
      const [tag, version, from, to, nonceD, instance] = message;
      if (tag !== HELLO) throw new HandshakeError('spoke before the handshake');
      if (version !== PROTOCOL_VERSION) throw new HandshakeError(`protocol version ${String(version)} (this server speaks ${PROTOCOL_VERSION})`);
      if (typeof from !== 'string' || typeof to !== 'string' || !isNonce(nonceD) || typeof instance !== 'string') throw new HandshakeError('malformed hello');
      if (to !== context.me) throw new HandshakeError(`dialed '${to}' but this is '${context.me}'`, from);
      const admission = admit(from);
      if (!admission.accept) throw new HandshakeError(admission.reason, from);
      dialer = from;
      dialerInstance = instance;
      const nonceA = randomBytes(32);
      expected = proof(context.key, 'dialer', dialer, context.me, nonceA, nonceD);
      send(socket, [CHALLENGE, context.me, nonceA, proof(context.key, 'acceptor', dialer, context.me, nonceD, nonceA), context.instance]);
      return false;
    }
    if (message[0] !== PROOF || !sameProof(expected, message[1])) throw new HandshakeError('bad proof (a different cluster key?)', dialer);
    send(socket, [WELCOME]);
    done({ peer: dialer, instance: dialerInstance });
    return true;
  });
}

/** Dialer side: proves itself to `peer` and checks that `peer` knows the key too. */
export function dialHandshake(socket: WebSocket, context: HandshakeContext, peer: string, done: (result: Established | HandshakeError) => void): void {
  const nonceD = randomBytes(32);
  let peerInstance: string | undefined;
  converse(socket, context.timeoutMs, done, (message) => {
    if (peerInstance === undefined) {
      const [tag, name, nonceA, proofA, instance] = message;
      if (tag !== CHALLENGE || typeof name !== 'string' || !isNonce(nonceA) || typeof instance !== 'string') throw new HandshakeError('malformed challenge', peer);
      if (name !== peer) throw new HandshakeError(`expected server '${peer}' but '${name}' answered`, peer);
      if (!sameProof(proof(context.key, 'acceptor', context.me, peer, nonceD, nonceA), proofA)) throw new HandshakeError('bad proof from the server (a different cluster key?)', peer);
      peerInstance = instance;
      send(socket, [PROOF, proof(context.key, 'dialer', context.me, peer, nonceA, nonceD)]);
      return false;
    }
    if (message[0] !== WELCOME) throw new HandshakeError('expected welcome', peer);
    done({ peer, instance: peerInstance });
    return true;
  });
  const hello = () => send(socket, [HELLO, PROTOCOL_VERSION, context.me, peer, nonceD, context.instance]);
  if (socket.readyState === socket.OPEN) hello();
  else socket.once('open', hello);
}
