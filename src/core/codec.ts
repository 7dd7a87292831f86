import { Packr } from 'msgpackr';
import { EncodeError } from './errors.js';

/**
 * The one msgpackr configuration used on every link. Records (msgpackr's inline structure
 * definitions) keep plain objects as objects, so real msgpack maps decode back to `Map`;
 * `int64AsType: 'bigint'` keeps bigint as bigint; functions are refused instead of silently
 * becoming `undefined`.
 */
function createPackr(): Packr {
  const packr = new Packr({ moreTypes: true, int64AsType: 'bigint', mapsAsObjects: false });
  (packr as unknown as { writeFunction: () => never }).writeFunction = () => {
    throw new EncodeError('a function cannot be sent');
  };
  return packr;
}

const packr = createPackr();

/** Encodes one value. Throws EncodeError (and nothing is sent) for data msgpack cannot carry. */
export function encode(value: unknown): Buffer {
  try {
    return packr.pack(value);
  } catch (error) {
    if (error instanceof EncodeError) throw error;
    if (error instanceof RangeError) throw new EncodeError('the data contains a cycle (or is nested too deeply)', { cause: error });
    throw new EncodeError((error as Error).message, { cause: error });
  }
}

/**
 * Checks, without encoding, that msgpack can carry `value`, so a bad send fails at its call site
 * while the actual encoding happens once per batch. Rejects functions, symbols and cycles.
 */
export function assertEncodable(value: unknown): void {
  try {
    checkValue(value, 0);
  } catch (error) {
    // A getter that throws: the send fails as encoding would, with the one error type send documents.
    if (error instanceof EncodeError) throw error;
    throw new EncodeError(`reading the data threw: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}

const MAX_DEPTH = 500;

function checkValue(value: unknown, depth: number): void {
  switch (typeof value) {
    case 'string': case 'number': case 'boolean': case 'bigint': case 'undefined':
      return;
    case 'function':
      throw new EncodeError('a function cannot be sent');
    case 'symbol':
      throw new EncodeError('a symbol cannot be sent');
  }
  if (value === null) return;
  if (depth > MAX_DEPTH) throw new EncodeError('the data contains a cycle (or is nested more than 500 levels deep)');
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkValue(value[i], depth + 1);
  } else if (value instanceof Map) {
    for (const [key, entry] of value) {
      checkValue(key, depth + 1);
      checkValue(entry, depth + 1);
    }
  } else if (value instanceof Set) {
    for (const entry of value) checkValue(entry, depth + 1);
  } else if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof ArrayBuffer || value instanceof RegExp || value instanceof Error) {
    return;
  } else {
    for (const key in value as object) checkValue((value as Record<string, unknown>)[key], depth + 1);
  }
}

export function decode<T = unknown>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}

