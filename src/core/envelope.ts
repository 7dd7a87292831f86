import { decode, encode } from './codec.js';
import { EncodeError } from './errors.js';

/** What an envelope is: a one-way message, a request, or the two kinds of answer. */
export const enum Kind {
  Message = 0,
  Request = 1,
  Reply = 2,
  Failure = 3,
}

/**
 * Which handler namespace a message belongs to. CPU_CLUSTERING.on and SERVER_CLUSTERING.on are
 * separate (as in UPPERCASE); System carries boxwire's own traffic (readiness, store, jobs).
 */
export const enum Channel {
  Cpu = 0,
  Server = 1,
  System = 2,
}

/** Worker id of the master process. */
export const MASTER = 0;
/** Target: one worker of the receiving server that registered the method (round-robin). */
export const ANY_WORKER = 0xfffe;
/** Target: every worker of the receiving server except the sender. */
export const ALL_WORKERS = 0xffff;

export interface Envelope {
  kind: Kind;
  channel: Channel;
  method: string;
  data: unknown;
  /** Request id, unique within the requesting process; 0 for one-way messages. */
  id: number;
  /** Reply address: the sending worker (0 = master) ... */
  fromWorker: number;
  /** ... and its server, when server clustering is on. */
  fromServer?: string;
  /** Set when the envelope must cross to another server; the master forwards it. */
  toServer?: string;
  toWorker?: number;
}

/**
 * A record body is a batch of envelopes that share a destination, self-contained (no state
 * shared between bodies, so a master can forward one between links without decoding it):
 *
 *   [u8 FORMAT][u32 count]
 *   count × [u8 kind | channel << 2 | flags][u32 id][u16 fromWorker]([u16 toWorker])
 *           method (fromServer toServer) ([u32 length][bytes] when the data is a Buffer)
 *   msgpack array of the other envelopes' data, in order (absent when there is none)
 *
 * Headers are fixed binary fields rather than msgpack: a request's header costs a few byte
 * writes instead of a generic pack of a 9-element array, and the data of the whole batch is one
 * msgpack array (one pack call per batch). Strings are written once per batch and then referred
 * to by index: a batch of 32 requests to 'echo' carries 'echo' once, and the receiver decodes it
 * once — method and server names repeat in nearly every envelope. Buffer data is copied as is
 * (msgpackr's generic path for it costs several times more) and arrives as a Buffer, as it does
 * through msgpack.
 */
const FORMAT = 0xb1;
const ROUTED = 0x10;
const HAS_TO_WORKER = 0x20;
const DATA_BYTES = 0x40;
/** A string tag below STRING_REFS names the n-th string already written in this body. */
const STRING_REFS = 0xfd;
const STRING_UNDEFINED = 0xfe;
const STRING_LITERAL = 0xff;
const MAX_STRING_BYTES = 0xffff;
/** Fixed part of one envelope's header, three string tags and lengths, a data length. */
const HEADER_BYTES = 1 + 4 + 2 + 2 + 3 * 3 + 4;
/** Scratch space beyond this is given back after the batch that needed it. */
const SCRATCH_KEEP_BYTES = 1 << 20;

/** Scratch space for headers; grows to the largest batch seen (headers are a few bytes each). */
let scratch = Buffer.allocUnsafe(64 * 1024);
/** Strings written in the body being encoded, in order (their index is their reference). */
const written: string[] = [];

/** Encodes envelopes as one record body. Throws EncodeError if any data cannot be encoded. */
export function encodeBatch(envelopes: readonly Envelope[]): Buffer {
  const count = envelopes.length;
  // A fresh array: a user's toJSON may send (and so encode) while this one is being packed.
  const packable: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const data = envelopes[i].data;
    if (!Buffer.isBuffer(data)) packable.push(data);
  }
  const packed = packable.length > 0 ? encode(packable) : undefined;
  written.length = 0;
  scratch[0] = FORMAT;
  writeU32(count, 1);
  let at = 5;
  for (let i = 0; i < count; i++) at = writeHeader(envelopes[i], at);
  const body = Buffer.allocUnsafe(at + (packed?.length ?? 0));
  scratch.copy(body, 0, 0, at);
  if (packed) body.set(packed, at);
  if (scratch.length > SCRATCH_KEEP_BYTES) scratch = Buffer.allocUnsafe(64 * 1024);
  return body;
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  return encodeBatch([envelope]);
}

function writeHeader(envelope: Envelope, at: number): number {
  const { method, fromServer, toServer, toWorker, data } = envelope;
  const routed = fromServer !== undefined || toServer !== undefined;
  const bytes = Buffer.isBuffer(data) ? data : undefined;
  ensureRoom(at + HEADER_BYTES + (method.length + (fromServer?.length ?? 0) + (toServer?.length ?? 0)) * 3 + (bytes?.length ?? 0));
  scratch[at] = envelope.kind | (envelope.channel << 2) | (routed ? ROUTED : 0) | (toWorker !== undefined ? HAS_TO_WORKER : 0) | (bytes ? DATA_BYTES : 0);
  writeU32(envelope.id, at + 1);
  writeU16(envelope.fromWorker, at + 5);
  at += 7;
  if (toWorker !== undefined) {
    writeU16(toWorker, at);
    at += 2;
  }
  at = writeString(method, at);
  if (routed) {
    at = writeString(fromServer, at);
    at = writeString(toServer, at);
  }
  if (bytes) {
    writeU32(bytes.length, at);
    scratch.set(bytes, at + 4);
    at += 4 + bytes.length;
  }
  return at;
}

function writeU32(value: number, at: number): void {
  scratch[at] = value >>> 24;
  scratch[at + 1] = value >>> 16;
  scratch[at + 2] = value >>> 8;
  scratch[at + 3] = value;
}

/** Worker ids and targets are 16 bits; anything else is a bug upstream, caught here rather than sent garbled. */
function writeU16(value: number, at: number): void {
  if (!(value >= 0 && value <= 0xffff)) throw new RangeError(`worker id out of range: ${value}`);
  scratch[at] = value >>> 8;
  scratch[at + 1] = value;
}

function writeString(value: string | undefined, at: number): number {
  if (value === undefined) {
    scratch[at] = STRING_UNDEFINED;
    return at + 1;
  }
  const index = written.indexOf(value);
  if (index !== -1) {
    scratch[at] = index;
    return at + 1;
  }
  if (written.length < STRING_REFS) written.push(value);
  scratch[at] = STRING_LITERAL;
  const bytes = writeUtf8(value, at + 3);
  if (bytes > MAX_STRING_BYTES) throw new EncodeError(`a method or server name longer than ${MAX_STRING_BYTES} bytes cannot be sent`);
  scratch[at + 1] = bytes >>> 8;
  scratch[at + 2] = bytes;
  return at + 3 + bytes;
}

/** Short ASCII names (nearly all of them) are copied char by char; anything else goes through utf8. */
function writeUtf8(value: string, at: number): number {
  const length = value.length;
  if (length < 64) {
    let i = 0;
    for (; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code >= 0x80) break;
      scratch[at + i] = code;
    }
    if (i === length) return length;
  }
  return scratch.write(value, at, 'utf8');
}

function ensureRoom(bytes: number): void {
  if (bytes <= scratch.length) return;
  const grown = Buffer.allocUnsafe(Math.max(bytes, scratch.length * 2));
  scratch.copy(grown);
  scratch = grown;
}

/** Decodes a record body. Throws TypeError or RangeError on a malformed one. */
export function decodeEnvelopes(body: Uint8Array): Envelope[] {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (bytes.length < 5 || bytes[0] !== FORMAT) throw new TypeError('malformed record: not a batch of envelopes');
  const count = bytes.readUInt32BE(1);
  if (count > bytes.length) throw new TypeError('malformed record: envelope count larger than the record');
  const reader = new HeaderReader(bytes);
  const envelopes: Envelope[] = new Array(count);
  for (let i = 0; i < count; i++) envelopes[i] = reader.next();
  if (reader.at > bytes.length) throw new RangeError('malformed record: truncated envelope header');
  if (reader.packed === 0) {
    if (reader.at !== bytes.length) throw new TypeError('malformed record: bytes after the envelopes');
    return envelopes;
  }
  let values: unknown[];
  try {
    values = decode<unknown[]>(bytes.subarray(reader.at));
  } catch (error) {
    // msgpackr throws plain Errors (unknown extension, bad offset); the contract here is TypeError/RangeError.
    throw new TypeError(`malformed record: the data is not valid msgpack (${(error as Error)?.message ?? String(error)})`);
  }
  if (!Array.isArray(values) || values.length !== reader.packed) throw new TypeError('malformed record: data does not match the envelopes');
  let next = 0;
  for (let i = 0; i < count; i++) if (envelopes[i].data === PACKED) envelopes[i].data = values[next++];
  return envelopes;
}

/** Placeholder for data that follows in the msgpack section. */
const PACKED = Symbol('packed');

class HeaderReader {
  at = 5;
  /** How many envelopes have their data in the msgpack section. */
  packed = 0;
  private readonly strings: string[] = [];

  constructor(private readonly bytes: Buffer) {}

  next(): Envelope {
    const flags = this.bytes[this.at];
    const id = this.u32(this.at + 1);
    const fromWorker = this.u16(this.at + 5);
    this.at += 7;
    let toWorker: number | undefined;
    if ((flags & HAS_TO_WORKER) !== 0) {
      toWorker = this.u16(this.at);
      this.at += 2;
    }
    const method = this.string();
    if (method === undefined) throw new TypeError('malformed envelope: no method');
    const routed = (flags & ROUTED) !== 0;
    const fromServer = routed ? this.string() : undefined;
    const toServer = routed ? this.string() : undefined;
    let data: unknown = PACKED;
    if ((flags & DATA_BYTES) !== 0) {
      const length = this.u32(this.at);
      const start = this.at + 4;
      this.at = start + length;
      if (this.at > this.bytes.length) throw new RangeError('malformed envelope: data past the end of the record');
      data = this.bytes.subarray(start, this.at);
    } else this.packed++;
    return { kind: flags & 3, channel: (flags >> 2) & 3, method, data, id, fromWorker, fromServer, toServer, toWorker };
  }

  private u32(at: number): number {
    const b = this.bytes;
    return ((b[at] << 24) >>> 0) + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
  }

  private u16(at: number): number {
    return (this.bytes[at] << 8) | this.bytes[at + 1];
  }

  private string(): string | undefined {
    const tag = this.bytes[this.at++];
    if (tag === STRING_UNDEFINED) return undefined;
    if (tag === STRING_LITERAL) {
      const length = this.u16(this.at);
      const start = this.at + 2;
      const end = start + length;
      if (end > this.bytes.length) throw new RangeError('malformed envelope: string past the end of the record');
      const value = length <= NAME_CACHE_MAX_BYTES ? cachedName(this.bytes, start, length) : this.bytes.toString('utf8', start, end);
      this.at = end;
      if (this.strings.length < STRING_REFS) this.strings.push(value);
      return value;
    }
    const value = this.strings[tag];
    if (value === undefined) throw new TypeError('malformed envelope: reference to an unknown string');
    return value;
  }
}

/**
 * Method and server names recur in nearly every record, and each record decodes them afresh (one
 * body cannot rely on another); a small cache hands back the same string for the same ASCII bytes
 * instead of decoding and allocating it again. A hit is verified byte by byte, so a collision only
 * costs a decode.
 */
const NAME_CACHE_MAX_BYTES = 64;
const nameCache: Array<string | undefined> = new Array(256).fill(undefined);

function cachedName(bytes: Buffer, start: number, length: number): string {
  let hash = length;
  for (let i = 0; i < length; i++) hash = (hash * 31 + bytes[start + i]) | 0;
  const slot = hash & 255;
  const cached = nameCache[slot];
  if (cached !== undefined && cached.length === length) {
    let i = 0;
    while (i < length && cached.charCodeAt(i) === bytes[start + i]) i++;
    if (i === length) return cached;
  }
  const value = bytes.toString('utf8', start, start + length);
  // Only ASCII is cached: there one char is one byte, which is what the check above compares.
  if (value.length === length && isAscii(value)) nameCache[slot] = value;
  return value;
}

function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) >= 0x80) return false;
  return true;
}
