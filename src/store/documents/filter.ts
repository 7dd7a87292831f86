import type { RE2JS as RE2JSClass } from 're2js';
import { lazyModule } from '../../core/lazy-module.js';
import { assertSafeKey } from '../../core/safe-keys.js';
import { isPlainObject } from '../../core/value-kinds.js';
import { StoreFilterError } from '../store-errors.js';

interface SiftExports {
  default: (query: unknown, options?: unknown) => DocumentTest;
  createEqualsOperation: (params: unknown, ownerQuery: unknown, options: unknown) => unknown;
}
// sift and re2js load on the first filter (most processes never run one). sift is CommonJS: its
// module object is the tester, with `default` and `createEqualsOperation` on it.
const loadSift = lazyModule<SiftExports>('sift');
const loadRe2 = lazyModule<{ RE2JS: typeof RE2JSClass }>('re2js');
const sift = (query: unknown, options?: unknown) => loadSift().default(query, options);
const createEqualsOperation = (params: unknown, ownerQuery: unknown, options: unknown) => loadSift().createEqualsOperation(params, ownerQuery, options);

/** Operators that would run code; filters can arrive over the network, so they are refused. */
const CODE_OPERATORS = new Set(['$where', '$function', '$accumulator', '$expr']);

export type DocumentTest = (document: unknown) => boolean;

/**
 * Compiles a MongoDB-style filter (through sift) after checking that nothing in it can execute
 * code: `$where`, `$function`, `$accumulator`, `$expr` and function values are rejected with
 * StoreFilterError before sift sees the filter.
 */
export function compileFilter(filter: unknown): DocumentTest {
  if (filter === undefined || filter === null) return () => true;
  if (!isPlainObject(filter)) throw new StoreFilterError(`a filter must be a plain object in the MongoDB query language, got ${typeof filter}`);
  assertNoCode(filter, 'filter');
  let test: DocumentTest;
  try {
    test = sift(filter, SIFT_OPTIONS);
  } catch (error) {
    if (error instanceof StoreFilterError) throw error;
    throw new StoreFilterError(`invalid filter: ${(error as Error).message}`);
  }
  return guardTest(test);
}

/**
 * sift checks some operands only when it compares (`{ $gt: [] }` against an object without a
 * prototype throws a TypeError, an unknown `$type` alias a plain Error). A filter from a client
 * must fail with StoreFilterError, never an error from inside the library.
 */
function guardTest(test: DocumentTest): DocumentTest {
  return (document) => {
    try {
      return test(document);
    } catch (error) {
      throw new StoreFilterError(`the filter cannot be evaluated: ${(error as Error)?.message ?? String(error)}`);
    }
  };
}

/** sift's `$type` aliases; a class (its other form) is code, and only in-process code has one. */
const TYPE_ALIASES = new Set(['number', 'string', 'bool', 'array', 'null', 'timestamp']);

function assertTypeOperand(value: unknown, path: string): void {
  if (typeof value === 'string' && TYPE_ALIASES.has(value)) return;
  throw new StoreFilterError(`$type at ${path} takes one of ${[...TYPE_ALIASES].join(', ')}, got ${JSON.stringify(value)?.slice(0, 100) ?? typeof value}`);
}

/**
 * `$regex` strings (the form a filter takes on the network) run on RE2 (re2js): linear time in
 * the subject, so no pattern can stall a worker, unlike a backtracking engine on `(a+)+$`
 * (tens of seconds for 31 characters). RE2 has no backreferences or lookaround; such patterns are
 * refused with StoreFilterError. RegExp objects (only in-process code can make one: clients'
 * JSON and msgpack cannot carry them) keep the JavaScript engine.
 */
export const MAX_REGEX_LENGTH = 1000;
const REGEX_FLAGS = { i: 'CASE_INSENSITIVE', m: 'MULTILINE', s: 'DOTALL' } as const;

function regexOperation(pattern: unknown, ownerQuery: Record<string, unknown>, options: unknown) {
  if (pattern instanceof RegExp) return createEqualsOperation(pattern, ownerQuery, options);
  const test = compileLinearRegex(pattern, ownerQuery.$options);
  return createEqualsOperation((value: unknown) => typeof value === 'string' && test(value), ownerQuery, options);
}

function compileLinearRegex(pattern: unknown, flags: unknown): (value: string) => boolean {
  if (typeof pattern !== 'string') throw new StoreFilterError(`$regex takes a string pattern, got ${typeof pattern}`);
  if (pattern.length > MAX_REGEX_LENGTH) throw new StoreFilterError(`$regex pattern is ${pattern.length} characters; the limit is ${MAX_REGEX_LENGTH}`);
  const { RE2JS } = loadRe2();
  let mask = 0;
  for (const flag of typeof flags === 'string' ? flags : '') {
    if (!Object.hasOwn(REGEX_FLAGS, flag)) throw new StoreFilterError(`$options '${flag}' is not supported (supported: i, m, s)`);
    mask |= RE2JS[REGEX_FLAGS[flag as keyof typeof REGEX_FLAGS]];
  }
  try {
    const re = RE2JS.compile(pattern, mask);
    return (value) => re.test(value);
  } catch (error) {
    throw new StoreFilterError(`$regex ${JSON.stringify(pattern.slice(0, 100))} is not accepted: ${(error as Error).message} (patterns run on a linear-time engine: no backreferences or lookaround)`);
  }
}

const SIFT_OPTIONS = { operations: { $regex: regexOperation } };

/** Deeper filters are refused: the checks and sift recurse per level, and no real query nests this far. */
export const MAX_FILTER_DEPTH = 100;
const LOGICAL_OPERATORS = new Set(['$and', '$or', '$nor']);

function assertNoCode(value: unknown, path: string, depth = 0): void {
  if (depth > MAX_FILTER_DEPTH) throw new StoreFilterError(`the filter is nested more than ${MAX_FILTER_DEPTH} levels deep (at ${path.slice(0, 100)}…)`);
  if (typeof value === 'function') {
    throw new StoreFilterError(`${path} is a function; filters may not contain code (they can arrive over the network). Use query operators such as $gt, $in, $regex, $elemMatch`);
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => assertNoCode(item, `${path}[${index}]`, depth + 1));
    return;
  }
  if (!isPlainObject(value)) return;
  for (const key of Object.keys(value)) {
    assertSafeKey(key, `filter key at ${path}`);
    if (CODE_OPERATORS.has(key)) {
      throw new StoreFilterError(`${key} is not allowed in store filters: it would execute code (at ${path}); express the condition with query operators`);
    }
    if (key === '$type') assertTypeOperand(value[key], path);
    if (LOGICAL_OPERATORS.has(key) && !Array.isArray(value[key])) throw new StoreFilterError(`${key} at ${path} takes an array of filters`);
    assertNoCode(value[key], `${path}.${key}`, depth + 1);
  }
}
