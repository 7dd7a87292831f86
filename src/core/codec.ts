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

export function decode<T = unknown>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}

/** Deep copy through the codec: what a receiver would see. */
export function cloneThroughCodec<T>(value: T): T {
  return decode<T>(encode(value));
}
