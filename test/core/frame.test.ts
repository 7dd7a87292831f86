// Frames: batches of records [u32 length][u16 target][u32 count][body], built and split again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameBuilder, RECORD_HEADER_BYTES, forEachRecord } from '../../src/core/frame.js';

const isRange = (e: unknown) => e instanceof RangeError;
type Record = [target: number, body: string, count: number];

function build(records: Record[], headroom = 0): Buffer {
  const builder = new FrameBuilder();
  for (const [target, body, count] of records) builder.add(target, Buffer.from(body), count);
  return builder.take(headroom);
}

function split(frame: Uint8Array): Record[] {
  const out: Record[] = [];
  forEachRecord(frame, (target, body, count) => out.push([target, Buffer.from(body).toString(), count]));
  return out;
}

test('records round-trip in order with their targets and counts, empty bodies and edge values included', () => {
  const records: Record[] = [[0, 'master', 1], [65535, 'last id', 4294967295], [7, '', 0], [7, 'é→✓', 3]];
  const frame = build(records);
  assert.is(frame.length, records.reduce((n, [, body]) => n + RECORD_HEADER_BYTES + Buffer.byteLength(body), 0));
  assert.equal(split(frame), records);
});

test('size and count track what was added; take() resets the builder for the next frame', () => {
  const builder = new FrameBuilder();
  builder.add(1, Buffer.alloc(5), 1);
  builder.add(2, Buffer.alloc(7), 2);
  assert.is(builder.count, 2);
  assert.is(builder.size, 2 * RECORD_HEADER_BYTES + 12);
  builder.take();
  assert.is(builder.count, 0);
  assert.is(builder.size, 0);
  builder.add(3, Buffer.from('next'), 1);
  assert.equal(split(builder.take()), [[3, 'next', 1]]);
});

test('headroom: the first bytes are left for the transport, the records follow untouched', () => {
  const frame = build([[1, 'a', 1], [2, 'bc', 2]], 4);
  frame.writeUInt32BE(0xdeadbeef, 0);
  assert.is(frame.readUInt32BE(0), 0xdeadbeef);
  assert.equal(split(frame.subarray(4)), [[1, 'a', 1], [2, 'bc', 2]]);
});

test('a record body larger than 64 KiB and 16 MiB-sized lengths are read as unsigned 32-bit', () => {
  const big = Buffer.alloc(70_000, 0x61);
  const builder = new FrameBuilder();
  builder.add(9, big, 1);
  let seen = 0;
  forEachRecord(builder.take(), (target, body) => {
    assert.is(target, 9);
    assert.is(body.length, 70_000);
    seen++;
  });
  assert.is(seen, 1);
});

test('a bad target or count is refused when added, and the builder keeps what it had', () => {
  const builder = new FrameBuilder();
  builder.add(1, Buffer.from('kept'), 1);
  for (const target of [-1, 65536, 1.5, NaN]) assert.throws(() => builder.add(target, Buffer.alloc(1), 1), isRange);
  for (const count of [-1, 2 ** 32, 0.5, NaN]) assert.throws(() => builder.add(1, Buffer.alloc(1), count), isRange);
  assert.is(builder.count, 1);
  assert.equal(split(builder.take()), [[1, 'kept', 1]]);
});

test('hostile lengths: a record claiming more bytes than its frame, or a cut header, throws RangeError', () => {
  const frame = build([[1, 'hello', 1]]);
  // Every truncation of a valid frame is refused: nothing reads past the end.
  for (let cut = 1; cut < frame.length; cut++) assert.throws(() => split(frame.subarray(0, cut)), isRange, `cut at ${cut}`);
  const lying = Buffer.from(frame);
  lying.writeUInt32BE(0xffffffff, 0);
  assert.throws(() => split(lying), /longer than its frame/);
  lying.writeUInt32BE(6, 0); // one byte more than there is
  assert.throws(() => split(lying), /longer than its frame/);
  assert.throws(() => split(Buffer.alloc(RECORD_HEADER_BYTES - 1)), /truncated record header/);
});

test('an empty frame has no records; a frame of zero-length records is valid', () => {
  assert.equal(split(Buffer.alloc(0)), []);
  assert.equal(split(Buffer.alloc(RECORD_HEADER_BYTES * 3)), [[0, '', 0], [0, '', 0], [0, '', 0]]);
});

test('records are views into the frame (forwarded without copying)', () => {
  const frame = build([[1, 'abc', 1]]);
  forEachRecord(frame, (_target, body) => {
    assert.is(body.buffer, frame.buffer);
    assert.is(body.byteOffset, frame.byteOffset + RECORD_HEADER_BYTES);
  });
});

test.run();
