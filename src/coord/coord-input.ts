/**
 * The one place where LOCK, QUEUE and UNIQUE_ID check what callers hand them — names, option
 * objects, job data — before anything reaches Redis or the master. Everything a caller passes may
 * come from a client (a lock per user id, a queue per tenant), so each check refuses with a
 * ConfigError that says what is allowed, and nothing is stored, locked or changed.
 *
 * Names (locks and queues): strings of 1 to 512 characters; any characters except control
 * characters (U+0000–U+001F, U+007F–U+009F, the line separators U+2028/U+2029) and unpaired
 * surrogates; no dot-separated segment `__proto__`, `prototype` or `constructor` (the rule of
 * every boxwire name). `{`, `}`, `*`, `:` and any other printable character are fine: the Redis
 * backend escapes `{` and `}` in keys (see redisKeyPart) so a name cannot change the key's
 * Redis Cluster hash tag.
 */
import { ConfigError, UnsafeKeyError } from '../core/errors.js';
import { encode } from '../core/codec.js';
import { isUnsafeKey } from '../core/safe-keys.js';

export const MAX_NAME_LENGTH = 512;
/** Largest job data, msgpack-encoded: a queue carries work orders, not blobs. */
export const MAX_JOB_BYTES = 1024 * 1024;

const CONTROL_CHARACTER = /[\p{Cc}\u2028\u2029]/u;
const LONE_SURROGATE = /\p{Cs}/u;

/** A short, safe description of a bad value for an error message (never the whole of a 1 MB string). */
export function describeInput(value: unknown): string {
  if (typeof value === 'string') {
    const shown = JSON.stringify(value.length > 60 ? value.slice(0, 60) : value);
    return value.length > 60 ? `${shown}… (${value.length.toLocaleString('en-US')} characters)` : shown;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** The name of a lock or queue, checked; `api` names the call in the error ("LOCK", "QUEUE"). */
export function checkName(api: string, name: unknown): string {
  const refuse = (why: string) => new ConfigError(`${api}(name): ${why} (got ${describeInput(name)}); names are strings of 1 to ${MAX_NAME_LENGTH} characters without control characters — see docs/coordination.md, "Names"`);
  if (typeof name !== 'string') throw refuse(`the name must be a string — pass String(value) for ids`);
  if (name.length === 0) throw refuse('the name is empty');
  if (name.length > MAX_NAME_LENGTH) throw refuse(`the name is longer than ${MAX_NAME_LENGTH} characters — hash long keys first`);
  if (CONTROL_CHARACTER.test(name)) throw refuse('the name contains a control character (a newline, NUL, …)');
  if (LONE_SURROGATE.test(name)) throw refuse('the name contains an unpaired surrogate (not valid Unicode)');
  if (isUnsafeKey(name)) throw refuse("the name has a segment '__proto__', 'prototype' or 'constructor', which is refused everywhere in boxwire");
  return name;
}

/**
 * The part of a Redis key that holds a (checked) name: `%`, `{` and `}` are percent-escaped, so
 * the `{…}` around it is the key's whole hash tag (every key of one lock or queue in one Redis
 * Cluster slot, whatever the name) and two names never share a key.
 */
export function redisKeyPart(name: string): string {
  return /[%{}]/.test(name) ? name.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : name;
}

/**
 * An options argument: undefined or null (defaults), or a plain object whose own keys are all in
 * `known` — a misspelt option (`{ ttl: 5000 }`) is refused rather than silently ignored.
 */
export function checkOptions<K extends string>(where: string, input: unknown, known: readonly K[]): Partial<Record<K, unknown>> {
  if (input === undefined || input === null) return {};
  const shape = `{ ${known.map((k) => `${k}?`).join(', ')} }`;
  if (typeof input !== 'object' || Array.isArray(input)) throw new ConfigError(`${where}: options must be an object ${shape} (got ${describeInput(input)})`);
  const unknown = Object.keys(input).filter((key) => !(known as readonly string[]).includes(key));
  if (unknown.length) throw new ConfigError(`${where}: unknown option ${unknown.slice(0, 5).map((k) => describeInput(k)).join(', ')}; the options are ${shape}`);
  const checked: Partial<Record<K, unknown>> = {};
  for (const key of known) if (Object.hasOwn(input, key)) checked[key] = (input as Record<string, unknown>)[key];
  return checked;
}

/** A whole number of ms (or a count) from `min` to `max`, or `fallback` when not given. */
export function wholeNumber(where: string, name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${where}: ${name} must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')} (got ${describeInput(value)})`);
  }
  return value;
}

/**
 * Job data, encoded once (msgpack) and checked: EncodeError for what msgpack cannot carry
 * (functions, symbols, cycles), UnsafeKeyError for an own `__proto__` key, ConfigError above
 * MAX_JOB_BYTES. Both backends store these bytes as they are, so a job is a copy taken at push.
 */
export function encodeJobData(where: string, data: unknown): Buffer {
  refuseProtoKeys(where, data, 0);
  const bytes = encode(data);
  if (bytes.length > MAX_JOB_BYTES) {
    throw new ConfigError(`${where}: the job data is ${(bytes.length / 1024 / 1024).toFixed(1)} MiB encoded, above the ${MAX_JOB_BYTES / 1024 / 1024} MiB limit; nothing was queued — store large data elsewhere (a file, MongoDB, the upload role) and push its id`);
  }
  return bytes;
}

/**
 * An own key `__proto__` (as JSON.parse makes from a client's body) cannot come back as it went
 * in — msgpack decoding renames it rather than let it set a prototype — so it is refused instead
 * of changed silently.
 */
function refuseProtoKeys(where: string, value: unknown, depth: number): void {
  if (value === null || typeof value !== 'object' || depth > 500 || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return;
  if (Array.isArray(value) || value instanceof Set) {
    for (const item of value) refuseProtoKeys(where, item, depth + 1);
    return;
  }
  if (value instanceof Map) {
    for (const item of value.values()) refuseProtoKeys(where, item, depth + 1);
    return;
  }
  if (Object.hasOwn(value, '__proto__')) throw new UnsafeKeyError(`${where}: job data`, '__proto__');
  for (const key of Object.keys(value)) refuseProtoKeys(where, (value as Record<string, unknown>)[key], depth + 1);
}
