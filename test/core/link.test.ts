// The batching link (src/core/link.ts) through its pipe transport (src/cpu/pipe-link.ts) on a
// real TCP socket pair: what one task sends leaves as one frame, one record per target, in
// order; early flushes; frames split across chunks; malformed frames; closing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { Channel, Kind, decodeEnvelopes, encodeEnvelope, type Envelope } from '../../src/core/envelope.js';
import { FLUSH_AWAITED, FLUSH_ENVELOPES } from '../../src/core/link.js';
import { FrameBuilder } from '../../src/core/frame.js';
import { PipeLink } from '../../src/cpu/pipe-link.js';

interface Received { target: number; count: number; envelopes: Envelope[] }

/** Two PipeLinks joined by a loopback TCP connection; `b` collects the records it receives. */
async function linkPair() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [accepted] = (await once(server, 'connection')) as [net.Socket];
  await once(client, 'connect');
  server.close();
  const received: Received[] = [];
  const waiters: Array<() => void> = [];
  let closedB = 0;
  const a = new PipeLink(client);
  const b = new PipeLink(accepted, () => closedB++);
  b.setReceiver((target, body, count) => {
    received.push({ target, count, envelopes: decodeEnvelopes(body) });
    for (const wake of waiters.splice(0)) wake();
  });
  /** Resolves once `n` envelopes in all have arrived. */
  const envelopes = (n: number) => new Promise<void>((resolve) => {
    const check = () => (received.reduce((sum, r) => sum + r.count, 0) >= n ? resolve() : waiters.push(check));
    check();
  });
  return { a, b, raw: client, received, envelopes, closedB: () => closedB, close: () => { a.close(); b.close(); } };
}

function message(method: string, data: unknown, kind = Kind.Message, id = 0): Envelope {
  return { kind, channel: Channel.Cpu, method, data, id, fromWorker: 1 };
}

test('what one task sends leaves as one record per target, in order, and decodes to the same envelopes', async () => {
  const pair = await linkPair();
  try {
    pair.a.sendEnvelope(2, message('m', 1));
    pair.a.sendEnvelope(3, message('m', 'x'));
    pair.a.sendEnvelope(2, message('m', { deep: [1, 2n, new Date(0)] }));
    pair.a.sendEnvelope(2, message('n', Buffer.from('raw')));
    await pair.envelopes(4);
    assert.equal(pair.received.map((r) => [r.target, r.count]), [[2, 3], [3, 1]]);
    assert.equal(pair.received[0].envelopes.map((e) => e.data), [1, { deep: [1, 2n, new Date(0)] }, Buffer.from('raw')]);
    assert.equal(pair.received[0].envelopes.map((e) => e.method), ['m', 'm', 'n']);
    assert.is(pair.received[1].envelopes[0].data, 'x');
  } finally {
    pair.close();
  }
});

test('a forwarded record keeps its place among envelopes for the same target', async () => {
  const pair = await linkPair();
  try {
    pair.a.sendEnvelope(1, message('first', 1));
    pair.a.send(1, encodeEnvelope(message('forwarded', 2)), 1);
    pair.a.sendEnvelope(1, message('third', 3));
    await pair.envelopes(3);
    assert.equal(pair.received.map((r) => r.envelopes.map((e) => e.method)), [['first'], ['forwarded'], ['third']]);
  } finally {
    pair.close();
  }
});

test(`requests and answers leave in slices of ${FLUSH_AWAITED}; one-way messages in batches up to ${FLUSH_ENVELOPES}`, async () => {
  const pair = await linkPair();
  try {
    for (let id = 1; id <= FLUSH_AWAITED + 8; id++) pair.a.sendEnvelope(1, message('req', id, Kind.Request, id));
    await pair.envelopes(FLUSH_AWAITED + 8);
    assert.equal(pair.received.map((r) => r.count), [FLUSH_AWAITED, 8]);
    assert.equal(pair.received.flatMap((r) => r.envelopes.map((e) => e.id)), Array.from({ length: FLUSH_AWAITED + 8 }, (_, i) => i + 1));
    pair.received.length = 0;
    for (let n = 0; n < FLUSH_ENVELOPES + 10; n++) pair.a.sendEnvelope(1, message('msg', n));
    await pair.envelopes(FLUSH_ENVELOPES + 10);
    assert.equal(pair.received.map((r) => r.count), [FLUSH_ENVELOPES, 10]);
    assert.ok(pair.received.flatMap((r) => r.envelopes.map((e) => e.data as number)).every((n, i) => n === i), 'in order');
  } finally {
    pair.close();
  }
});

test('an envelope that does not encode is lost alone; the rest of its batch arrives', async () => {
  const pair = await linkPair();
  try {
    pair.a.sendEnvelope(1, message('good', 1));
    pair.a.sendEnvelope(1, message('bad', { f: () => 1 })); // skipped assertEncodable on purpose
    pair.a.sendEnvelope(1, message('good', 2));
    pair.a.sendEnvelope(2, message('other', 3));
    await pair.envelopes(3);
    assert.equal(pair.received.flatMap((r) => r.envelopes.map((e) => [r.target, e.data])), [[1, 1], [1, 2], [2, 3]]);
    // A lone unencodable envelope (the one-record path) is dropped too, and the link carries on.
    pair.a.sendEnvelope(1, message('bad', Symbol('s')));
    pair.a.flush();
    pair.a.sendEnvelope(1, message('after', 4));
    await pair.envelopes(4);
    assert.is(pair.received.at(-1)!.envelopes[0].data, 4);
  } finally {
    pair.close();
  }
});

test('a large frame (a store snapshot) crosses in many chunks and arrives whole', async () => {
  const pair = await linkPair();
  try {
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    pair.a.sendEnvelope(1, message('snapshot', big));
    pair.a.sendEnvelope(1, message('after', 'small'));
    await pair.envelopes(2);
    const [first] = pair.received[0].envelopes;
    assert.ok(Buffer.compare(first.data as Buffer, big) === 0, 'same bytes');
    assert.is(pair.received.flatMap((r) => r.envelopes).at(-1)!.data, 'small');
  } finally {
    pair.close();
  }
});

/** Length-prefixed pipe frames holding records [target, envelope data] as PipeLink writes them. */
function pipeFrame(records: Array<[number, unknown]>): Buffer {
  const builder = new FrameBuilder();
  for (const [target, data] of records) builder.add(target, encodeEnvelope(message('m', data)), 1);
  const frame = builder.take(4);
  frame.writeUInt32BE(frame.length - 4, 0);
  return frame;
}

test('frames split at every byte, or several in one chunk, are reassembled exactly', () => {
  const bytes = Buffer.concat([pipeFrame([[1, 'a'], [2, 'b']]), pipeFrame([[3, 'c']]), pipeFrame([[4, { d: 'é' }]])]);
  const expected = [[1, 'a'], [2, 'b'], [3, 'c'], [4, { d: 'é' }]];
  const cuts: number[][] = [];
  for (let at = 1; at < bytes.length; at++) cuts.push([at]);
  cuts.push(Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)); // one byte per chunk
  cuts.push([]); // everything in one chunk
  for (const cut of cuts) {
    // A stream under our control decides the chunk boundaries exactly.
    const stream = new PassThrough();
    const link = new PipeLink(stream as unknown as net.Socket);
    const got: unknown[] = [];
    link.setReceiver((target, body) => got.push([target, decodeEnvelopes(body)[0].data]));
    let from = 0;
    for (const at of [...cut, bytes.length]) {
      stream.write(bytes.subarray(from, at));
      from = at;
    }
    assert.equal(got, expected, `chunks cut at ${cut.length > 3 ? `${cut.length} places` : JSON.stringify(cut)}`);
    link.close();
  }
});

test('a malformed frame closes the link and nothing else: no uncaught exception, nothing delivered after it', async () => {
  const pair = await linkPair();
  const uncaught: unknown[] = [];
  let wake = () => {};
  const onUncaught = (error: unknown) => {
    uncaught.push(error);
    wake();
  };
  process.on('uncaughtException', onUncaught);
  try {
    const good = pipeFrame([[1, 'before']]);
    const bad = pipeFrame([[1, 'lying']]);
    bad.writeUInt32BE(0xffffff, 4); // the record claims far more bytes than its frame holds
    // The receiving side closes the connection (or, before the fix, threw out of its data handler).
    const closedOrThrew = new Promise<void>((resolve) => {
      wake = resolve;
      pair.raw.once('close', () => resolve());
    });
    pair.raw.write(Buffer.concat([good, bad, pipeFrame([[1, 'after']])]));
    await closedOrThrew;
    assert.equal(pair.received.map((r) => r.envelopes[0].data), ['before']);
    assert.is(pair.closedB(), 1);
    assert.equal(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
    pair.close();
  }
});

test('close(): queued envelopes are dropped, later sends are ignored, the close callback runs once', async () => {
  const pair = await linkPair();
  const peerClosed = once(pair.raw, 'close');
  const atA: unknown[] = [];
  pair.a.setReceiver((target) => atA.push(target));
  pair.b.sendEnvelope(1, message('queued', 1));
  pair.b.close();
  pair.b.close();
  pair.b.sendEnvelope(1, message('after close', 2));
  pair.b.flush();
  assert.is(pair.closedB(), 1);
  await peerClosed;
  pair.a.close();
  assert.equal(atA, []);
});

test.run();
