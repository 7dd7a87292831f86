/**
 * A CommonJS dependency loaded on its first use instead of at import. Most apps use a few of
 * boxwire's parts; loading every optional dependency at start (ioredis, busboy, sift, re2js,
 * mime-types with its database, proper-lockfile) added a few MB of heap and dozens of modules to
 * every process, which measurably slowed the mesh benchmark (about 8 % one-way, unpinned; see
 * docs/benchmarks.md) though none of that code runs there.
 *
 * @example
 *   const busboy = lazyModule<typeof import('busboy')>('busboy');
 *   busboy()({ headers }); // loaded here, the first time
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

export function lazyModule<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireHere(name) as T);
}
