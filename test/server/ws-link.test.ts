// WsLink on a real WebSocket pair: messages of every header size arrive intact and in order in
// both directions (the dialing side masks with a zero key), each leaves in one socket write, and
// a batch over the frame cap is split while an envelope too large for any frame is reported.
import type { Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket, { WebSocketServer } from 'ws';
import { Channel, Kind, decodeEnvelopes, type Envelope } from '../../src/core/envelope.js';
import { WsLink, type WsLinkEvents } from '../../src/server/ws-link.js';
import { freePort } from '../helpers/server-driver.js';

interface Pair { dialer: WsLink; acceptor: WsLink; received: { dialer: Envelope[]; acceptor: Envelope[] }; oversized: number[]; close(): Promise<void> }

async function pair(maxFrameBytes = 16 << 20): Promise<Pair> {
  const port = await freePort(['127.0.0.2']);
  const server = new WebSocketServer({ host: '127.0.0.2', port, perMessageDeflate: false, maxPayload: maxFrameBytes });
  const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.2:${port}`, { perMessageDeflate: false, maxPayload: maxFrameBytes, generateMask: (mask: Buffer) => void mask.fill(0) });
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  const received = { dialer: [] as Envelope[], acceptor: [] as Envelope[] };
  const oversized: number[] = [];
  const events = (): WsLinkEvents => ({ closed: () => {}, malformed: (error) => assert.unreachable(error.message), oversized: (_e, bytes) => oversized.push(bytes) });
  const dialer = new WsLink(client, maxFrameBytes, events(), true);
  const acceptor = new WsLink(await accepted, maxFrameBytes, events(), false);
  dialer.setReceiver((_t, body) => received.dialer.push(...decodeEnvelopes(body)));
  acceptor.setReceiver((_t, body) => received.acceptor.push(...decodeEnvelopes(body)));
  return {
    dialer, acceptor, received, oversized,
    close: async () => {
      dialer.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const message = (i: number, data: unknown): Envelope => ({ kind: Kind.Message, channel: Channel.Server, method: 'm', data, id: 0, fromWorker: 1 });

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}

test('every header size, both directions, in order; one socket write per message', async () => {
  const link = await pair();
  const sizes = [0, 10, 100, 126, 1000, 65_000, 70_000, 3_000_000];
  const writes = { dialer: 0, acceptor: 0 };
  for (const side of ['dialer', 'acceptor'] as const) {
    const raw = (link[side].socket as unknown as { _socket: Socket })._socket;
    const write = raw.write.bind(raw);
    raw.write = ((...args: Parameters<Socket['write']>) => (writes[side]++, write(...args))) as Socket['write'];
  }
  for (const side of ['dialer', 'acceptor'] as const) {
    sizes.forEach((size, i) => {
      link[side].sendEnvelope(1, message(i, Buffer.alloc(size, i)));
      link[side].flush(); // one message per frame, so every length encoding is used
    });
  }
  await until(() => link.received.dialer.length === sizes.length && link.received.acceptor.length === sizes.length);
  for (const side of ['dialer', 'acceptor'] as const) {
    assert.equal(link.received[side].map((e) => (e.data as Buffer).length), sizes);
    link.received[side].forEach((e, i) => assert.ok((e.data as Buffer).every((byte) => byte === i)));
  }
  assert.equal(writes, { dialer: sizes.length, acceptor: sizes.length });
  await link.close();
});

test('answers given while a frame is handled are written before the task ends, ahead of next-tick work', async () => {
  const link = await pair();
  const raw = (link.acceptor.socket as unknown as { _socket: Socket })._socket;
  let writes = 0;
  const write = raw.write.bind(raw);
  raw.write = ((...args: Parameters<Socket['write']>) => (writes++, write(...args))) as Socket['write'];
  const writtenByNextTick = new Promise<number>((resolve) => {
    link.acceptor.setReceiver((_t, body) => {
      for (const request of decodeEnvelopes(body)) link.acceptor.sendEnvelope(1, { ...request, kind: Kind.Reply });
      process.nextTick(() => resolve(writes));
    });
  });
  link.dialer.sendEnvelope(1, { kind: Kind.Request, channel: Channel.Server, method: 'm', data: 1, id: 1, fromWorker: 1 });
  link.dialer.flush();
  const written = await writtenByNextTick;
  await until(() => link.received.dialer.length === 1);
  await link.close();
  assert.is(written, 1);
});

test('a batch over the frame cap is split into frames under it; an envelope too large for any frame is reported', async () => {
  const link = await pair(64 * 1024);
  for (let i = 0; i < 20; i++) link.dialer.sendEnvelope(1, message(i, Buffer.alloc(10_000, i)));
  link.dialer.sendEnvelope(1, message(99, Buffer.alloc(100_000)));
  link.dialer.sendEnvelope(1, message(20, Buffer.alloc(10, 20)));
  link.dialer.flush();
  await until(() => link.received.acceptor.length === 21);
  assert.equal(link.received.acceptor.map((e) => (e.data as Buffer)[0]), Array.from({ length: 21 }, (_, i) => i));
  assert.is(link.oversized.length, 1);
  await link.close();
});

test.run();
