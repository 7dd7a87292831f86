/**
 * Shared settings for the fuzz tests (test/fuzz/*.test.ts). `npm test` runs a modest number of
 * inputs per property so each file takes a few seconds on a loaded machine; set
 * BOXWIRE_FUZZ_RUNS to run many more locally (`npm run fuzz` sets it to 1,000,000), and
 * BOXWIRE_FUZZ_SEED to replay a failure fast-check printed.
 */
import * as assert from 'uvu/assert';

/** How many inputs a property gets: BOXWIRE_FUZZ_RUNS when set, else `ciRuns`. */
export function fuzzRuns(ciRuns: number): number {
  const fromEnv = Number(process.env.BOXWIRE_FUZZ_RUNS);
  return Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : ciRuns;
}

/** fast-check parameters: the run count, and the seed to replay when one is given. */
export function fuzzParameters(ciRuns: number): { numRuns: number; seed?: number; endOnFailure: true } {
  const seed = Number(process.env.BOXWIRE_FUZZ_SEED);
  return { numRuns: fuzzRuns(ciRuns), endOnFailure: true, ...(Number.isSafeInteger(seed) ? { seed } : {}) };
}

/**
 * Per-input time bound. Generous because the test machine is shared: a decoder that hangs (or is
 * quadratic in a declared length) blows far past it, a loaded machine does not.
 */
export const MAX_MS_PER_INPUT = Number(process.env.BOXWIRE_FUZZ_MAX_MS ?? 2000);

/** Runs `fn`, fails the property if it took longer than the bound, returns what it returned. */
export function bounded<T>(what: string, fn: () => T): T {
  const started = performance.now();
  try {
    return fn();
  } finally {
    const took = performance.now() - started;
    if (took > MAX_MS_PER_INPUT) throw new Error(`${what} took ${took.toFixed(0)} ms for one input (bound ${MAX_MS_PER_INPUT} ms)`);
  }
}

const PROTOTYPES: Array<[string, object]> = [['Object', Object.prototype], ['Array', Array.prototype], ['Function', Function.prototype], ['String', String.prototype]];
const baseline = new Map(PROTOTYPES.map(([name, proto]) => [name, Reflect.ownKeys(proto).map(String).sort().join(',')]));

/** Fails when any built-in prototype gained, lost or replaced a property since this module loaded. */
export function assertPrototypesUntouched(): void {
  for (const [name, proto] of PROTOTYPES) {
    assert.is(Reflect.ownKeys(proto).map(String).sort().join(','), baseline.get(name), `${name}.prototype was changed`);
  }
  assert.is(Object.getPrototypeOf({}), Object.prototype, 'a plain object lost its prototype');
  assert.is(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype.polluted appeared');
}

/** Fails unless `error` is one of the documented types (so no library error leaks out). */
export function assertDocumentedError(error: unknown, allowed: Array<new (...args: any[]) => Error>, what: string): void {
  if (allowed.some((type) => error instanceof type)) {
    assert.ok((error as Error).message.length > 0, `${what}: a refusal without a message`);
    return;
  }
  throw new Error(`${what} threw ${(error as Error)?.constructor?.name ?? typeof error}: ${(error as Error)?.message ?? String(error)} (allowed: ${allowed.map((t) => t.name).join(', ')})`);
}
