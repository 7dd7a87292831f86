// The record body codec: what goes in comes out, names repeated in a batch travel once, Buffer
// data travels as bytes, and malformed bodies are refused rather than misread.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Channel, Kind, decodeEnvelopes, encodeBatch, encodeEnvelope, type Envelope } from '../../src/core/envelope.js';
import { EncodeError } from '../../src/core/errors.js';

function envelope(overrides: Partial<Envelope> = {}): Envelope {
  return { kind: Kind.Request, channel: Channel.Server, method: 'echo', data: null, id: 7, fromWorker: 1, fromServer: undefined, toServer: undefined, toWorker: undefined, ...overrides };
}

test('every field and kind of data survives a batch', () => {
  const sent = [
    envelope({ data: { a: [1, 2n, new Map([[1, 'x']]), new Set(['s'])], d: new Date(5), u: undefined }, fromServer: 'A', toServer: 'B', toWorker: 0xfffe }),
    envelope({ kind: Kind.Reply, channel: Channel.System, method: 'réponse', data: 'text', id: 0x7fffffff, fromWorker: 0, fromServer: 'A' }),
    envelope({ kind: Kind.Message, channel: Channel.Cpu, data: undefined, id: 0, fromWorker: 3 }),
    envelope({ kind: Kind.Failure, data: new Float64Array([1.5, 2]), toWorker: 4 }),
    envelope({ data: new Uint8Array([1, 2, 3]) }),
  ];
  const received = decodeEnvelopes(encodeBatch(sent));
  assert.equal(received, sent);
  assert.ok(received[3].data instanceof Float64Array, 'typed arrays keep their type');
  assert.ok(!Buffer.isBuffer(received[4].data) && received[4].data instanceof Uint8Array, 'a plain Uint8Array stays one');
});

test('Buffer data arrives as a Buffer with the same bytes, alone or beside other data', () => {
  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  for (const batch of [[envelope({ data: bytes })], [envelope({ data: bytes }), envelope({ data: { x: 1 } }), envelope({ data: Buffer.alloc(0) })]]) {
    const received = decodeEnvelopes(encodeBatch(batch));
    assert.ok(Buffer.isBuffer(received[0].data));
    assert.equal([...(received[0].data as Buffer)], [...bytes]);
    assert.equal(received.slice(1).map((e) => e.data), batch.slice(1).map((e) => e.data));
  }
});

test('a name repeated in a batch is written once', () => {
  const method = 'a-rather-long-method-name';
  const batch = Array.from({ length: 32 }, (_, i) => envelope({ method, id: i + 1, fromServer: 'serverA', toServer: 'serverB', toWorker: 2 }));
  const body = encodeBatch(batch);
  assert.is(body.toString('latin1').split(method).length - 1, 1);
  assert.is(body.toString('latin1').split('serverA').length - 1, 1);
  assert.equal(decodeEnvelopes(body), batch);
});

test('more distinct names than there are references still round-trip', () => {
  const batch = Array.from({ length: 600 }, (_, i) => envelope({ method: `m${i % 300}`, id: i }));
  assert.equal(decodeEnvelopes(encodeBatch(batch)), batch);
});

test('names decode right across many bodies: thousands of distinct ones, non-ASCII, near-collisions', () => {
  const names = [...Array.from({ length: 3000 }, (_, i) => `method.${i}`), 'échø', 'ab', 'ba', 'a\u00ff', 'x'.repeat(64), 'x'.repeat(65)];
  for (let round = 0; round < 3; round++) {
    for (const name of names) {
      const [decoded] = decodeEnvelopes(encodeEnvelope(envelope({ method: name, fromServer: name, toServer: 'B' })));
      assert.is(decoded.method, name);
      assert.is(decoded.fromServer, name);
    }
  }
});

test('one envelope (what outboxes and the solo runtime store) is a batch of one', () => {
  const one = envelope({ data: [1, 'two'] });
  assert.equal(decodeEnvelopes(encodeEnvelope(one)), [one]);
});

test('data msgpack cannot carry, or a name too long for the format, throws EncodeError', () => {
  assert.throws(() => encodeBatch([envelope({ data: { f: () => 1 } })]), (e: unknown) => e instanceof EncodeError);
  assert.throws(() => encodeBatch([envelope({ method: 'x'.repeat(70_000) })]), (e: unknown) => e instanceof EncodeError);
  // The codec is usable again after a failure.
  assert.equal(decodeEnvelopes(encodeBatch([envelope()])), [envelope()]);
});

test('malformed bodies are refused, not misread', () => {
  const body = encodeBatch([envelope({ data: { x: 1 }, fromServer: 'A', toServer: 'B' }), envelope({ data: Buffer.alloc(10) })]);
  const bad: Uint8Array[] = [
    new Uint8Array(0),
    Buffer.from([0x92, 1, 2]), // a msgpack array, not a record body
    body.subarray(0, 12), // truncated header
    body.subarray(0, body.length - 1), // truncated data
    Buffer.concat([body, Buffer.from([0])]), // trailing garbage in the data section
  ];
  const wrongCount = Buffer.from(body);
  wrongCount.writeUInt32BE(3, 1);
  bad.push(wrongCount);
  for (const bytes of bad) assert.throws(() => decodeEnvelopes(bytes));
});

test.run();
