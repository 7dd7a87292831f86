/**
 * Loading the cluster config file: one JSON document that is the single source of truth for the
 * topology (servers and their roles, the clustering port and key, boxes, MongoDB, Redis).
 * `boxwire start`, `boxwire status` and `boxwire ops …` all read it through here.
 *
 * Loading has three stages so each stays simple:
 *   1. resolve `"env:NAME"` strings from the environment (secrets never live in the file) —
 *      env-references.ts, which also refuses `__proto__`/`constructor`/`prototype` keys;
 *   2. validate every section, collecting *all* problems as one line each naming the key
 *      (an operator fixes a file in one pass instead of one error per run) — root.ts and one
 *      file per section;
 *   3. return a normalized, typed `ClusterConfig` (defaults filled in, roles expanded).
 *
 * Plain TypeScript rather than a schema library: the rules that matter here (host:port clashes
 * across servers, MongoDB's loopback rule) are cross-field checks a schema cannot express.
 */
import { readFileSync } from 'node:fs';
import { isPlainObject } from '../core/value-kinds.js';
import { resolveEnv } from './env-references.js';
import { readRoot } from './root.js';
import type { ClusterConfig, ParseOptions } from './types.js';
import { ConfigValidationError } from './validation-error.js';

export function loadClusterConfig(path: string, options: ParseOptions = {}): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigValidationError([`cannot read ${path}: ${(error as Error).message}`], path);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigValidationError([`${path} is not valid JSON: ${(error as Error).message}`], path);
  }
  return parseClusterConfig(raw, { ...options, source: path });
}

export function parseClusterConfig(raw: unknown, options: ParseOptions = {}): ClusterConfig {
  const source = options.source ?? 'cluster config';
  const problems: string[] = [];
  const resolved = resolveEnv(options.only ? onlyKeys(raw, options.only) : raw, '', options.env ?? process.env, problems);
  const config = readRoot(resolved, problems, !options.only || options.only.includes('clusteringPort'));
  if (problems.length > 0 || !config) throw new ConfigValidationError(problems, source);
  return config;
}

/** The object with only the listed top-level keys (anything else is returned as is, for validation to reject). */
function onlyKeys(raw: unknown, keys: readonly string[]): unknown {
  if (!isPlainObject(raw)) return raw;
  // Object.fromEntries defines keys (a '__proto__' key stays a key, for stage 1 to refuse).
  return Object.fromEntries(Object.entries(raw).filter(([key]) => keys.includes(key)));
}
