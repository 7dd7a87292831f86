/**
 * A frame is a batch of records; each record is an encoded batch of envelopes for one routing
 * target, with the number of envelopes in it, so a router can forward it without decoding:
 *
 *   [u32 body length][u16 target][u32 envelope count][body bytes] ... repeated
 */
export const RECORD_HEADER_BYTES = 10;

export type RecordVisitor = (target: number, body: Uint8Array, count: number) => void;

export class FrameBuilder {
  private bodies: Uint8Array[] = [];
  private targets: number[] = [];
  private counts: number[] = [];
  private bytes = 0;

  add(target: number, body: Uint8Array, count: number): void {
    // Checked here, not when the frame is written: a bad record would fail the whole frame then.
    if (!(Number.isInteger(target) && target >= 0 && target <= 0xffff)) throw new RangeError(`record target out of range: ${target}`);
    if (!(Number.isInteger(count) && count >= 0 && count <= 0xffffffff)) throw new RangeError(`record envelope count out of range: ${count}`);
    this.bodies.push(body);
    this.targets.push(target);
    this.counts.push(count);
    this.bytes += RECORD_HEADER_BYTES + body.length;
  }

  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.bodies.length;
  }

  /**
   * Returns the frame and resets the builder. The first `headroom` bytes are left free for the
   * transport's own header, so header and frame leave in one write without another copy.
   */
  take(headroom = 0): Buffer {
    const frame = Buffer.allocUnsafe(headroom + this.bytes);
    let offset = headroom;
    for (let i = 0; i < this.bodies.length; i++) {
      const body = this.bodies[i];
      // Headers are written in place here rather than allocated per record in add().
      frame.writeUInt32BE(body.length, offset);
      frame.writeUInt16BE(this.targets[i], offset + 4);
      frame.writeUInt32BE(this.counts[i], offset + 6);
      frame.set(body, offset + RECORD_HEADER_BYTES);
      offset += RECORD_HEADER_BYTES + body.length;
    }
    this.bodies = [];
    this.targets = [];
    this.counts = [];
    this.bytes = 0;
    return frame;
  }
}

/** Splits a frame into records. Throws on a truncated or inconsistent frame. */
export function forEachRecord(frame: Uint8Array, visit: RecordVisitor): void {
  let offset = 0;
  while (offset < frame.byteLength) {
    if (offset + RECORD_HEADER_BYTES > frame.byteLength) throw new RangeError('truncated record header');
    const length = u32(frame, offset);
    const target = (frame[offset + 4] << 8) | frame[offset + 5];
    const count = u32(frame, offset + 6);
    const start = offset + RECORD_HEADER_BYTES;
    const end = start + length;
    if (end > frame.byteLength) throw new RangeError('record longer than its frame');
    visit(target, frame.subarray(start, end), count);
    offset = end;
  }
}

function u32(bytes: Uint8Array, at: number): number {
  return bytes[at] * 0x1000000 + ((bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]);
}
