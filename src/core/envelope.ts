import { decode, encode } from './codec.js';

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

export type WireEnvelope = [Kind, Channel, string, unknown, number, number, string?, string?, number?];

/** Arrays are smaller and faster to pack than objects; trailing optional fields are omitted. */
export function toWire(envelope: Envelope): WireEnvelope {
  const wire: WireEnvelope = [envelope.kind, envelope.channel, envelope.method, envelope.data, envelope.id, envelope.fromWorker];
  if (envelope.fromServer !== undefined || envelope.toServer !== undefined) {
    wire.push(envelope.fromServer, envelope.toServer, envelope.toWorker);
  }
  return wire;
}

function fromWire(wire: WireEnvelope): Envelope {
  if (!Array.isArray(wire) || wire.length < 6 || typeof wire[0] !== 'number' || typeof wire[2] !== 'string') {
    throw new TypeError('malformed envelope');
  }
  return {
    kind: wire[0], channel: wire[1], method: wire[2], data: wire[3], id: wire[4], fromWorker: wire[5],
    fromServer: wire[6] ?? undefined, toServer: wire[7] ?? undefined, toWorker: wire[8] ?? undefined,
  };
}

/**
 * A record body is a batch: one msgpack array of wire envelopes that share a destination.
 * Encoding a batch at once is several times cheaper per message than one pack per message.
 */
export function encodeBatch(wires: WireEnvelope[]): Buffer {
  return encode(wires);
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  return encode([toWire(envelope)]);
}

export function decodeEnvelopes(body: Uint8Array): Envelope[] {
  const wires = decode<WireEnvelope[]>(body);
  if (!Array.isArray(wires)) throw new TypeError('malformed record: not a batch of envelopes');
  return wires.map(fromWire);
}
