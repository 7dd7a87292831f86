/**
 * The changes of one feed entry. The write script adds one entry per batch, fields `n` (the
 * entry's sequence number in the group: 1, 2, 3 …) and `b`: the batch's changes, packed per
 * change, big-endian, in the order of CHANGE_FORMAT:
 *   kind   1 byte: s save, n create, u update, r remove, c clear
 *   id     u32 length + UTF-8 bytes ('' for a clear)
 *   data   u32 length + the document as boxwire's msgpack ('' for remove and clear)
 *   expiry u8 length + the expiry in ms since the epoch as ASCII digits ('' for none)
 * Every change of an entry has the entry's id as its version.
 *
 * Entries written before batching (one write each: fields k, n, i, d, e) read as one change.
 * A malformed entry throws FeedFormatError: the reader reloads the store rather than guess.
 */
import type { FeedEntry } from './held-store.js';

/** The struct.pack format of one change in the write script (see above). */
export const CHANGE_FORMAT = '>c1I4c0I4c0Bc0';

export interface FeedChange {
  kind: 's' | 'n' | 'u' | 'r' | 'c';
  id: string;
  /** The document's bytes (save, create, update). */
  data?: Buffer;
  /** Expiry, ms since the epoch. */
  expiresAt?: number;
}

export class FeedFormatError extends Error {
  override name = 'FeedFormatError';
}

const KINDS = new Set(['s', 'n', 'u', 'r', 'c']);

/** The entry's changes, in order. */
export function feedChanges(entry: FeedEntry): FeedChange[] {
  const packed = entry.fields.get('b');
  if (packed) return unpackChanges(packed);
  return [legacyChange(entry)];
}

function unpackChanges(bytes: Buffer): FeedChange[] {
  const changes: FeedChange[] = [];
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw new FeedFormatError(`feed entry cut short at byte ${at} of ${bytes.length}`);
  };
  while (at < bytes.length) {
    need(1 + 4);
    const kind = String.fromCharCode(bytes[at]);
    if (!KINDS.has(kind)) throw new FeedFormatError(`unknown change kind ${JSON.stringify(kind)} in a feed entry`);
    const idLength = bytes.readUInt32BE(at + 1);
    at += 5;
    need(idLength + 4);
    const id = bytes.toString('utf8', at, at + idLength);
    at += idLength;
    const dataLength = bytes.readUInt32BE(at);
    at += 4;
    need(dataLength + 1);
    const data = bytes.subarray(at, at + dataLength);
    at += dataLength;
    const expiryLength = bytes[at];
    at += 1;
    need(expiryLength);
    const change: FeedChange = { kind: kind as FeedChange['kind'], id };
    if (kind === 's' || kind === 'n' || kind === 'u') change.data = data;
    if (expiryLength) change.expiresAt = expiry(bytes.toString('latin1', at, at + expiryLength));
    at += expiryLength;
    changes.push(change);
  }
  return changes;
}

function legacyChange(entry: FeedEntry): FeedChange {
  const kind = entry.fields.get('k')?.toString() ?? '';
  if (!KINDS.has(kind)) throw new FeedFormatError(`feed entry ${entry.id} has neither changes nor a known kind`);
  const id = entry.fields.get('i')?.toString() ?? '';
  const change: FeedChange = { kind: kind as FeedChange['kind'], id };
  const data = entry.fields.get('d');
  if (data) change.data = data;
  const expiryField = entry.fields.get('e');
  if (expiryField) change.expiresAt = expiry(expiryField.toString());
  if ((kind === 's' || kind === 'n' || kind === 'u') && !data) throw new FeedFormatError(`feed entry ${entry.id} writes '${id}' without a document`);
  return change;
}

function expiry(text: string): number {
  const ms = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(ms)) throw new FeedFormatError(`feed entry has an expiry that is not a time: ${JSON.stringify(text.slice(0, 40))}`);
  return ms;
}
