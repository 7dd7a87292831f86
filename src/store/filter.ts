import siftModule from 'sift';
import { assertSafeKey } from '../core/safe-keys.js';
import { isPlainObject } from './document-values.js';
import { StoreFilterError } from './store-errors.js';

/** Operators that would run code; filters can arrive over the network, so they are refused. */
// sift is CommonJS: under NodeNext its default export is the module object, whose `default` is the tester.
const sift = ((siftModule as unknown as { default?: unknown }).default ?? siftModule) as (query: unknown) => DocumentTest;

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
  try {
    return sift(filter);
  } catch (error) {
    throw new StoreFilterError(`invalid filter: ${(error as Error).message}`);
  }
}

function assertNoCode(value: unknown, path: string): void {
  if (typeof value === 'function') {
    throw new StoreFilterError(`${path} is a function; filters may not contain code (they can arrive over the network). Use query operators such as $gt, $in, $regex, $elemMatch`);
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => assertNoCode(item, `${path}[${index}]`));
    return;
  }
  if (!isPlainObject(value)) return;
  for (const key of Object.keys(value)) {
    assertSafeKey(key, `filter key at ${path}`);
    if (CODE_OPERATORS.has(key)) {
      throw new StoreFilterError(`${key} is not allowed in store filters: it would execute code (at ${path}); express the condition with query operators`);
    }
    assertNoCode(value[key], `${path}.${key}`);
  }
}
