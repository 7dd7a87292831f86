/**
 * API clients speak plain msgpack: maps, arrays, strings, numbers, booleans, nil and binary.
 * msgpackr would also decode its extension types (RegExp, Set, Error, typed arrays, records,
 * bigints of any size, timestamps) and hand them to box code, and its extensions are registered
 * process-wide, so they cannot be switched off for one Packr. So the bytes are checked first, in
 * one linear pass without allocation: any extension, the reserved byte 0xc1, a length running
 * past the end, bytes after the value, or a 64-bit integer outside the safe range (msgpackr
 * decodes those as BigInt, which box code written for JSON numbers does not expect) make the
 * message malformed.
 */

/** Length in bytes of each fixed-size head (0 = handled below). */
function fixedSize(byte: number): number {
  switch (byte) {
    case 0xc0: case 0xc2: case 0xc3: return 1;
    case 0xcc: case 0xd0: return 2;
    case 0xcd: case 0xd1: return 3;
    case 0xca: case 0xce: case 0xd2: return 5;
    case 0xcb: case 0xcf: case 0xd3: return 9;
    default: return 0;
  }
}

const UNSAFE_INTEGER = 'holds an integer beyond ±(2^53 − 1), which a JavaScript number cannot hold exactly (msgpackr would hand box code a BigInt); send it as a string';

/** uint64/int64 within Number.MAX_SAFE_INTEGER: decoded as a number, like every other integer. */
function isSafe64(view: DataView, at: number, signed: boolean): boolean {
  const value = signed ? view.getBigInt64(at) : view.getBigUint64(at);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER);
}

/** Returns why `bytes` is not one plain msgpack value, or undefined when it is. */
export function plainMsgpackProblem(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length;
  let at = 0;
  let pending = 1; // values still to read; every value takes at least one byte
  while (pending > 0) {
    if (at >= end) return 'truncated';
    if (pending > end - at) return 'declares more values than it has bytes';
    pending--;
    const byte = bytes[at];
    if (byte <= 0x7f || byte >= 0xe0) { at += 1; continue; } // fixint
    if (byte <= 0x8f) { pending += 2 * (byte & 0x0f); at += 1; continue; } // fixmap
    if (byte <= 0x9f) { pending += byte & 0x0f; at += 1; continue; } // fixarray
    if (byte <= 0xbf) { at += 1 + (byte & 0x1f); continue; } // fixstr
    const fixed = fixedSize(byte);
    if (fixed) {
      if ((byte === 0xcf || byte === 0xd3) && at + 9 <= end && !isSafe64(view, at + 1, byte === 0xd3)) return UNSAFE_INTEGER;
      at += fixed;
      continue;
    }
    const head = byte === 0xc4 || byte === 0xd9 ? 2 : byte === 0xc5 || byte === 0xda || byte === 0xdc || byte === 0xde ? 3 : 5;
    if (at + head > end) return 'truncated';
    switch (byte) {
      case 0xc4: case 0xd9: at += 2 + bytes[at + 1]; break; // bin8, str8
      case 0xc5: case 0xda: at += 3 + view.getUint16(at + 1); break; // bin16, str16
      case 0xc6: case 0xdb: at += 5 + view.getUint32(at + 1); break; // bin32, str32
      case 0xdc: pending += view.getUint16(at + 1); at += 3; break; // array16
      case 0xdd: pending += view.getUint32(at + 1); at += 5; break; // array32
      case 0xde: pending += 2 * view.getUint16(at + 1); at += 3; break; // map16
      case 0xdf: pending += 2 * view.getUint32(at + 1); at += 5; break; // map32
      default: // 0xc1 (never used), 0xc7–0xc9 ext, 0xd4–0xd8 fixext
        return byte === 0xc1 ? 'uses the reserved byte 0xc1' : 'uses a msgpack extension type (only maps, arrays, strings, numbers, booleans, nil and binary are accepted)';
    }
  }
  if (at > end) return 'truncated';
  if (at < end) return 'has bytes after the value';
  return undefined;
}
