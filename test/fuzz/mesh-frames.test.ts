// Fuzz: bytes from another server (frames, record bodies, store operation batches, the handshake)
// never crash, hang or pollute the receiver; every refusal is a TypeError/RangeError with a message
// (ws-link closes the link on those) or a HandshakeError.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { Channel, Kind, decodeEnvelopes, encodeBatch, type Envelope } from '../../src/core/envelope.js';
import { FrameBuilder, forEachRecord } from '../../src/core/frame.js';
import { encode } from '../../src/core/codec.js';
import { acceptHandshake, HandshakeError, PROTOCOL_VERSION } from '../../src/server/handshake.js';
import { packOperations, unpackOperations } from '../../src/store/replication/operation-wire.js';
import { isWellFormedOperation, type Operation } from '../../src/store/replication/operation.js';
import { assertDocumentedError, assertPrototypesUntouched, bounded, fuzzParameters } from './fuzz-settings.js';

const malformed = [TypeError, RangeError];

/** Everything a link does with a received frame: split it into records and decode each body. */
function receive(frame: Uint8Array): Envelope[] {
  const out: Envelope[] = [];
  forEachRecord(frame, (_target, body) => out.push(...decodeEnvelopes(body)));
  return out;
}

function receiveOrRefuse(frame: Uint8Array): Envelope[] | undefined {
  try {
    return bounded('decoding a frame', () => receive(frame));
  } catch (error) {
    assertDocumentedError(error, malformed, 'decoding a frame');
    return undefined;
  }
}

const hostileString = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'a.__proto__.b', ''));
const data = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)), fc.dictionary(hostileString, fc.jsonValue({ maxDepth: 2 })));
const envelope: fc.Arbitrary<Envelope> = fc.record({
  kind: fc.constantFrom(Kind.Message, Kind.Request, Kind.Reply, Kind.Failure),
  channel: fc.constantFrom(Channel.Cpu, Channel.Server, Channel.System),
  method: hostileString,
  data,
  id: fc.nat(),
  fromWorker: fc.integer({ min: 0, max: 0xffff }),
  fromServer: fc.option(hostileString, { nil: undefined }),
  toServer: fc.option(hostileString, { nil: undefined }),
  toWorker: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
});
const validFrame = fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.array(envelope, { minLength: 1, maxLength: 4 })), { minLength: 1, maxLength: 3 }).map((records) => {
  const builder = new FrameBuilder();
  for (const [target, envelopes] of records) builder.add(target, encodeBatch(envelopes), envelopes.length);
  return builder.take();
});

/** A valid frame with bytes flipped, cut short, or a length field set huge (declared lengths are never trusted). */
const mutatedFrame = fc.tuple(validFrame, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(), fc.constantFrom('flip', 'truncate', 'huge-length')).map(([frame, flips, cut, how]) => {
  const bytes = Buffer.from(frame);
  if (how === 'truncate') return bytes.subarray(0, cut % bytes.length);
  if (how === 'huge-length') {
    const at = cut % Math.max(1, bytes.length - 4);
    bytes.writeUInt32BE(0xffffffff - (cut % 1000), at);
    return bytes;
  }
  for (const [at, value] of flips) bytes[at % bytes.length] = value;
  return bytes;
});

test('random bytes as a frame: decoded or refused with TypeError/RangeError, in bounded time', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
    receiveOrRefuse(bytes);
    receiveOrRefuse(Buffer.concat([Buffer.from([0, 0, 0, bytes.length, 0, 0, 0, 0, 0, 1, 0xb1]), bytes]));
  }), fuzzParameters(1500));
  assertPrototypesUntouched();
});

test('valid frames round-trip; mutated ones (flipped bytes, cut short, huge declared lengths) are refused cleanly', () => {
  fc.assert(fc.property(validFrame, (frame) => {
    const envelopes = receive(frame);
    assert.ok(envelopes.length > 0);
  }), fuzzParameters(500));
  fc.assert(fc.property(mutatedFrame, (frame) => {
    receiveOrRefuse(frame);
  }), fuzzParameters(1500));
  assertPrototypesUntouched();
});

test('store operation batches from a peer: never throw, only well-formed operations pass', () => {
  const op = fc.record({
    store: hostileString, kind: fc.constantFrom('save', 'update', 'remove', 'clear', 'create'), origin: hostileString,
    seq: fc.integer({ min: 1, max: 1e6 }), wall: fc.nat(), counter: fc.nat(), id: fc.string({ minLength: 1, maxLength: 8 }),
    data: fc.dictionary(hostileString, fc.jsonValue({ maxDepth: 3 })),
  }) as fc.Arbitrary<Operation>;
  const anything = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.array(fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 10 })).map((wires) => encode(wires)), fc.array(op, { maxLength: 5 }).map(packOperations), fc.anything({ maxDepth: 2 }));
  fc.assert(fc.property(anything, (packed) => {
    const { ops, dropped } = bounded('unpacking operations', () => unpackOperations(packed));
    assert.ok(dropped >= 0);
    for (const one of ops) assert.ok(isWellFormedOperation(one));
  }), fuzzParameters(2000));
  assertPrototypesUntouched();
});

/** Real ws connections to an acceptor running the real handshake; the dialer sends fuzz. */
test('handshake: any first messages get a refusal (HandshakeError) and a closed socket, never a crash', async () => {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, maxPayload: 64 * 1024 });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const context = { me: 'acceptor', key: Buffer.alloc(32, 7), instance: 'fuzz', timeoutMs: 5000 };
  let outcome: (result: unknown) => void = () => undefined;
  wss.on('connection', (socket) => acceptHandshake(socket, context, (from) => (from === 'dialer' ? { accept: true } : { accept: false, reason: `unknown server '${from}'` }), (result) => outcome(result)));

  // An object whose toString is not a function made String(reason) throw inside the socket listener.
  const field = fc.oneof(fc.constantFrom('bw-hello', 'bw-proof', 'bw-refused', 'acceptor', 'dialer', '__proto__', PROTOCOL_VERSION, { toString: 'x', valueOf: 1 }), fc.anything({ maxDepth: 2 }), fc.uint8Array({ minLength: 32, maxLength: 32 }));
  const message = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ bytes: Buffer.from(bytes), binary: true })),
    fc.string({ maxLength: 50 }).map((text) => ({ bytes: Buffer.from(text), binary: false })),
    fc.array(field, { maxLength: 7 }).map((fields) => ({ bytes: encode(fields), binary: true })),
  );
  await fc.assert(fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 3 }), async (messages) => {
    const result = new Promise<unknown>((resolve) => (outcome = resolve));
    const socket = new WebSocket(url);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('open', resolve));
    for (const m of messages) socket.send(m.bytes, { binary: m.binary });
    const settled = await result;
    // Without the key no fuzz input can produce a valid proof: the acceptor must refuse.
    assert.ok(settled instanceof HandshakeError, `the acceptor accepted ${JSON.stringify(settled)}`);
    assert.ok((settled as HandshakeError).reason.length > 0);
    await closed;
  }), fuzzParameters(100));
  assertPrototypesUntouched();
  for (const client of wss.clients) client.terminate();
  wss.close();
  await new Promise((resolve) => http.close(resolve));
});

test.run();
