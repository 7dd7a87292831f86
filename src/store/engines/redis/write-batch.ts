/**
 * A write batch as the write script reads it: every write of the batch packed into one binary
 * argument, instead of five arguments (and a key) per write. A batch of 100 writes was 600
 * arguments that ioredis turned into RESP one by one and Redis turned into 600 Lua strings; one
 * buffer is written once here and taken apart in Lua with one `struct.unpack` per write.
 *
 * Per write, big-endian, in the order of WRITE_FORMAT (write-script.ts):
 *   kind   1 byte (a WriteCode letter)
 *   id     u32 length + UTF-8 bytes ('' for a clear)
 *   expect u8 length + ASCII bytes (a stream id, '0', '^', '?' or '')
 *   data   u32 length + bytes (the document as boxwire's msgpack, or empty)
 *   ttl    f64, milliseconds (0: no expiry)
 */
import type { PlannedWrite } from './planned-write.js';

/** The struct.unpack format of one write (see above). */
export const WRITE_FORMAT = '>c1I4c0Bc0I4c0d';

const FIXED_BYTES = 1 + 4 + 1 + 4 + 8;

export function packWriteBatch(planned: PlannedWrite[]): Buffer {
  let total = 0;
  const idBytes: number[] = new Array(planned.length);
  for (let i = 0; i < planned.length; i++) {
    const item = planned[i];
    idBytes[i] = Buffer.byteLength(item.write.request.id ?? '');
    total += FIXED_BYTES + idBytes[i] + item.expect.length + item.data.length;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < planned.length; i++) {
    const item = planned[i];
    at += out.write(item.code, at, 'latin1');
    at = out.writeUInt32BE(idBytes[i], at);
    if (idBytes[i]) at += out.write(item.write.request.id!, at, 'utf8');
    at = out.writeUInt8(item.expect.length, at);
    if (item.expect.length) at += out.write(item.expect, at, 'latin1');
    at = out.writeUInt32BE(item.data.length, at);
    if (item.data.length) at += (item.data as Buffer).copy(out, at);
    at = out.writeDoubleBE(item.ttlMs, at);
  }
  return out;
}
