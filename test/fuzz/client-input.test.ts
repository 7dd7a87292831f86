// Fuzz: what API and upload clients send. Units: the client msgpack decoder and the Range parser.
// Live: one real server (API + upload roles) gets random WebSocket JSON/msgpack messages, HTTP
// API bodies, multipart bodies and Range headers; every input gets an answer (an error says what
// was wrong, never a 5xx), the server never dies, and a normal call works afterwards.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { request as httpRequest } from 'node:http';
import { Packr } from 'msgpackr';
import WebSocket from 'ws';
import { decodeClientMsgpack } from '../../src/roles/api/api-connection.js';
import { ApiError } from '../../src/roles/api/api-errors.js';
import { parseRange } from '../../src/roles/files/http-range.js';
import { ClusterServers, waitClusterUp, writeConfig } from '../helpers/roles-cluster.js';
import { assertDocumentedError, assertPrototypesUntouched, bounded, fuzzParameters } from './fuzz-settings.js';

/** Plain msgpack heads with declared lengths far past the end (str32, bin32, array32, map32). */
const hugeHeads = fc.constantFrom(0xdb, 0xc6, 0xdd, 0xdf, 0xda, 0xdc, 0xde).chain((head) => fc.tuple(fc.constant(head), fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ maxLength: 20 })))
  .map(([head, length, rest]) => Buffer.from([head, ...length, ...rest]));
const plainPacker = new Packr({ useRecords: false, moreTypes: false });
const mutatedPlain = fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 })).map(([value, flips]) => {
  const bytes = Buffer.from(plainPacker.pack(value));
  for (const [at, byte] of flips) bytes[at % bytes.length] = byte;
  return bytes;
});

function onlyPlain(value: unknown, depth = 0): boolean {
  if (depth > 10_000) return false;
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return true;
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) return value.every((item) => onlyPlain(item, depth + 1));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value as object).every((item) => onlyPlain(item, depth + 1));
  return false;
}

test('client msgpack: plain values or ApiError 400 BAD_MESSAGE (extensions, huge declared lengths, truncation), bounded time', () => {
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), hugeHeads, mutatedPlain), (bytes) => {
    try {
      const value = bounded('decoding client msgpack', () => decodeClientMsgpack(bytes));
      assert.ok(onlyPlain(value), `decoded a non-plain value from ${bytes.toString('hex')}`);
    } catch (error) {
      assertDocumentedError(error, [ApiError], 'decodeClientMsgpack');
      assert.is((error as ApiError).code, 'BAD_MESSAGE');
    }
  }), fuzzParameters(3000));
  assertPrototypesUntouched();
});

test('regression: 64-bit integers decode as numbers when safe and are refused beyond 2^53 (they reached box code as BigInt)', () => {
  assert.is(decodeClientMsgpack(Buffer.from([0xcf, 0, 0, 0, 0, 0, 0, 0, 5])), 5);
  assert.is(decodeClientMsgpack(Buffer.from([0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb])), -5);
  assert.is(decodeClientMsgpack(Buffer.from([0xcf, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), Number.MAX_SAFE_INTEGER);
  for (const bytes of [[0x94, 0xcf, 84, 189, 183, 92, 249, 185, 84, 66, 0xc2, 0xc0, 0xc3], [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 1], [0xcf, 0, 0x20, 0, 0, 0, 0, 0, 0]]) {
    assert.throws(() => decodeClientMsgpack(Buffer.from(bytes)), (error: ApiError) => error.code === 'BAD_MESSAGE' && /2\^53/.test(error.message));
  }
});

test('regression: a map with a binary key is a BAD_MESSAGE (msgpackr threw a plain Error)', () => {
  const bytes = Buffer.from([0x81, 0xc4, 0x01, 0x61, 0x01]); // { <bin 'a'>: 1 }
  assert.throws(() => decodeClientMsgpack(bytes), (error: ApiError) => error instanceof ApiError && error.code === 'BAD_MESSAGE');
});

test('Range headers: whole file, unsatisfiable, or a range inside the file', () => {
  const header = fc.oneof(fc.string({ maxLength: 30 }), fc.tuple(fc.oneof(fc.constant(''), fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String)), fc.oneof(fc.constant(''), fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String)), fc.constantFrom('bytes=', 'bytes = ', 'BYTES=', 'bytes=0-1,'))
    .map(([a, b, prefix]) => `${prefix}${a}-${b}`));
  fc.assert(fc.property(header, fc.nat({ max: 2 ** 40 }), (value, size) => {
    const range = bounded('parseRange', () => parseRange(value, size));
    if (range.kind === 'partial') {
      assert.ok(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end), JSON.stringify(range));
      assert.ok(range.start >= 0 && range.start <= range.end && range.end < size, `${value} against ${size}: ${JSON.stringify(range)}`);
    }
  }), fuzzParameters(5000));
});

// ---- live server ----
const WEB = 18720;
const { path } = writeConfig({ clusteringPort: 18721, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample'], servers: { f1: { host: '127.0.0.2', webPort: WEB, roles: ['front-door', 'api', 'upload'] } } });
const cluster = new ClusterServers(path, { BOXWIRE_WORKERS: '1', BOXWIRE_API_CALLS_PER_SECOND: '100000', BOXWIRE_API_BURST: '100000' });
const base = `http://127.0.0.2:${WEB}`;

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

function http(method: string, url: string, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function assertClientError(answer: Answer, what: string): void {
  assert.ok(answer.status < 500, `${what}: ${answer.status} ${answer.body.toString().slice(0, 200)}`);
  if (answer.status >= 400) {
    const type = String(answer.headers['content-type'] ?? '');
    const error = type.includes('msgpack') ? plainPacker.unpack(answer.body).error : JSON.parse(answer.body.toString()).error;
    assert.ok(typeof error.code === 'string' && typeof error.message === 'string' && error.message.length > 0, `${what}: no clear error`);
  }
}

async function alive(): Promise<void> {
  const answer = await http('GET', `${base}/__CHECK_ALIVE`, {});
  assert.is(answer.status, 200);
}

test.before(async () => {
  cluster.start('f1');
  await waitClusterUp(base, [{ host: '127.0.0.2', webPort: WEB }], 1);
});
test.after(() => cluster.stopAll());

test('live WebSocket API: every JSON or msgpack message gets one reply or a close with a reason; the server stays up', async () => {
  const socket = new WebSocket(`ws://127.0.0.2:${WEB}/__API`);
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('open', resolve));
  const replies: unknown[] = [];
  let wake = () => undefined as void;
  socket.once('close', () => wake());
  socket.on('message', (raw, binary) => {
    replies.push(binary ? plainPacker.unpack(raw as Buffer) : JSON.parse(raw.toString()));
    wake();
  });
  const member = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('sample', 'getCounter', '__proto__', 'constructor', 'prototype', 'counter'));
  const message = fc.oneof(
    fc.record({ id: fc.oneof(fc.nat(), fc.string({ minLength: 1, maxLength: 4 })), box: member, method: member, data: fc.jsonValue({ maxDepth: 3 }), join: fc.option(member, { nil: undefined }) }, { requiredKeys: ['id'] }).map((m) => ({ text: JSON.stringify(m) })),
    fc.string({ maxLength: 60 }).map((text) => ({ text })),
    fc.oneof(fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b)), hugeHeads, mutatedPlain).map((bytes) => ({ bytes })),
  );
  await fc.assert(fc.asyncProperty(message, async (m) => {
    const before = replies.length;
    const got = new Promise<void>((resolve) => (wake = resolve));
    if ('text' in m) socket.send(m.text);
    else socket.send(m.bytes, { binary: true });
    // Every message here gets a reply: failures always answer (id or null); a successful call
    // without an id would not, but the fuzz box names make successful calls rare and they carry ids.
    await got;
    assert.is(socket.readyState, WebSocket.OPEN, 'the server closed the API connection');
    const last = replies[replies.length - 1] as { error?: { status: number; code: string; message: string } };
    assert.ok(replies.length > before);
    if (last.error) assert.ok(last.error.status < 500 && last.error.message.length > 0, JSON.stringify(last.error));
  }), { ...fuzzParameters(200), examples: [[{ text: '{"id":1,"box":"__proto__","method":"x"}' }]] });
  socket.close();
  await alive();
});

test('live HTTP API bodies and multipart uploads: 4xx with a clear error or success, never 5xx; downloads honour any Range', async () => {
  const contentType = fc.constantFrom('application/json', 'application/msgpack', 'text/plain', 'multipart/form-data; boundary=x', '');
  await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)), fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')), hugeHeads), contentType, fc.constantFrom('/__API/sample/getCounter', '/__API/sample/__proto__', '/__API/__proto__/x', '/__API/sample/increment'), async (body, type, at) => {
    assertClientError(await http('POST', `${base}${at}`, type ? { 'Content-Type': type } : {}, body), `POST ${at}`);
  }), fuzzParameters(150));

  const boundary = fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,40}$/);
  const part = fc.record({ name: fc.string({ maxLength: 20 }), filename: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }), type: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }), body: fc.uint8Array({ maxLength: 200 }) });
  const multipart = fc.tuple(boundary, fc.array(part, { maxLength: 3 }), fc.nat(), fc.boolean()).map(([b, parts, cut, truncate]) => {
    const chunks: Buffer[] = [];
    for (const p of parts) {
      chunks.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}\r\n${p.type !== undefined ? `Content-Type: ${p.type}\r\n` : ''}\r\n`));
      chunks.push(Buffer.from(p.body), Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from(`--${b}--\r\n`));
    const whole = Buffer.concat(chunks);
    return { boundary: b, body: truncate ? whole.subarray(0, cut % (whole.length + 1)) : whole };
  });
  const stored: Array<{ id: string; box: string; size: number }> = [];
  await fc.assert(fc.asyncProperty(multipart, fc.oneof(fc.constant(undefined), fc.string({ maxLength: 30 })), async ({ boundary: b, body }, headerOverride) => {
    const answer = await http('POST', `${base}/__UPLOAD?box=sample`, { 'Content-Type': headerOverride ?? `multipart/form-data; boundary=${b}` }, body);
    assertClientError(answer, 'POST /__UPLOAD');
    if (answer.status === 201) stored.push(...JSON.parse(answer.body.toString()).files);
  }), fuzzParameters(120));

  const file = stored.find((f) => f.size > 0) ?? (await (async () => {
    const b = 'fuzzboundary';
    const body = Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n\r\n0123456789\r\n--${b}--\r\n`);
    const answer = await http('POST', `${base}/__UPLOAD?box=sample`, { 'Content-Type': `multipart/form-data; boundary=${b}` }, body);
    assert.is(answer.status, 201);
    return JSON.parse(answer.body.toString()).files[0];
  })());
  const whole = await http('GET', `${base}/__RF/sample/${file.id}`, {});
  assert.is(whole.status, 200);
  await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ maxLength: 30 }), fc.tuple(fc.nat({ max: 2 ** 31 }), fc.nat({ max: 2 ** 31 })).map(([a, z]) => `bytes=${a % (file.size + 3)}-${z % (file.size + 3)}`)), async (range) => {
    const answer = await http('GET', `${base}/__RF/sample/${file.id}`, { Range: range });
    assert.ok([200, 206, 416].includes(answer.status), `Range ${JSON.stringify(range)}: ${answer.status}`);
    if (answer.status === 200) assert.equal(answer.body, whole.body);
    if (answer.status === 206) {
      const [, start, end] = /bytes (\d+)-(\d+)\//.exec(String(answer.headers['content-range']))!.map(Number);
      assert.equal(answer.body, whole.body.subarray(start, end + 1));
    }
  }), fuzzParameters(150));
  await alive();
  const counter = await http('POST', `${base}/__API/sample/getCounter`, { 'Content-Type': 'application/json' }, Buffer.from('null'));
  assert.is(counter.status, 200);
});

test.run();
