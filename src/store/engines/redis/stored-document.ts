/**
 * A document as Redis holds it: one string key per document (`bw:store:{tag}:d:<id>`, expiring
 * with the document), its value a short header and the document's bytes:
 *   version u8 length + ASCII (the feed entry id of the batch that last wrote it)
 *   expiry  u8 length + ASCII digits, ms since the epoch ('' for none)
 *   then the document as boxwire's msgpack, to the end of the value.
 * One string rather than a hash: the write script replaces a document with one SET (which also
 * answers what was there, and drops an old TTL), where a hash took a read and a write.
 */
import { decode } from '../../../core/codec.js';
import type { Entry } from '../../documents/store-tables.js';

/** The struct.pack format of the header in the write script (see above). */
export const DOC_HEADER_FORMAT = '>Bc0Bc0';

export class StoredDocumentError extends Error {
  override name = 'StoredDocumentError';
}

/** The entry and its version; throws StoredDocumentError for a value that is not a boxwire document. */
export function readStoredDocument(value: Buffer): { entry: Entry; version: string } {
  let at = 0;
  const field = () => {
    const length = value[at];
    if (length === undefined || at + 1 + length > value.length) throw new StoredDocumentError('a document key holds a value that is not a boxwire document (header cut short)');
    const text = value.toString('latin1', at + 1, at + 1 + length);
    at += 1 + length;
    return text;
  };
  const version = field();
  const expiry = field();
  if (!/^\d+-\d+$/.test(version)) throw new StoredDocumentError(`a document key holds a value that is not a boxwire document (version ${JSON.stringify(version.slice(0, 40))})`);
  if (expiry && !/^\d+$/.test(expiry)) throw new StoredDocumentError(`a document key holds a value that is not a boxwire document (expiry ${JSON.stringify(expiry.slice(0, 40))})`);
  const entry: Entry = { doc: decode(value.subarray(at)) };
  if (expiry) entry.expiresAt = Number(expiry);
  return { entry, version };
}
