/**
 * A frame is a batch of records; each record is an encoded batch of envelopes for one routing
 * target, with the number of envelopes in it, so a router can forward it without decoding:
 *
 *   [u32 body length][u16 target][u32 envelope count][body bytes] ... repeated
 */
export const RECORD_HEADER_BYTES = 10;

export type RecordVisitor = (target: number, body: Uint8Array, count: number) => void;

export class FrameBuilder {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private records = 0;

  add(target: number, body: Uint8Array, count: number): void {
    const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    header.writeUInt32BE(body.length, 0);
    header.writeUInt16BE(target, 4);
    header.writeUInt32BE(count, 6);
    this.parts.push(header, body);
    this.bytes += RECORD_HEADER_BYTES + body.length;
    this.records++;
  }

  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.records;
  }

  /**
   * Returns the frame and resets the builder. The first `headroom` bytes are left free for the
   * transport's own header, so header and frame leave in one write without another copy.
   */
  take(headroom = 0): Buffer {
    const frame = Buffer.allocUnsafe(headroom + this.bytes);
    let offset = headroom;
    for (const part of this.parts) {
      frame.set(part, offset);
      offset += part.length;
    }
    this.parts = [];
    this.bytes = 0;
    this.records = 0;
    return frame;
  }
}

/** Splits a frame into records. Throws on a truncated or inconsistent frame. */
export function forEachRecord(frame: Uint8Array, visit: RecordVisitor): void {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let offset = 0;
  while (offset < frame.byteLength) {
    if (offset + RECORD_HEADER_BYTES > frame.byteLength) throw new RangeError('truncated record header');
    const length = view.getUint32(offset);
    const target = view.getUint16(offset + 4);
    const count = view.getUint32(offset + 6);
    const start = offset + RECORD_HEADER_BYTES;
    const end = start + length;
    if (end > frame.byteLength) throw new RangeError('record longer than its frame');
    visit(target, frame.subarray(start, end), count);
    offset = end;
  }
}
