/**
 * Stage 1 of loading: `"env:NAME"` strings, at any depth, become the variable's value, so secrets
 * (cluster key, MongoDB passwords) never live in the file. The walk also builds the only copy of
 * the file's objects that later stages read, and refuses keys that would reach a prototype.
 */
import { isUnsafeKey } from '../core/safe-keys.js';
import { isPlainObject } from '../core/value-kinds.js';
import { keyPath } from './readers.js';

/** Replaces every `"env:NAME"` string (at any depth) by the variable's value. */
export function resolveEnv(value: unknown, key: string, env: Record<string, string | undefined>, problems: string[]): unknown {
  if (typeof value === 'string' && value.startsWith('env:')) {
    const name = value.slice(4);
    const found = env[name];
    if (found === undefined || found === '') {
      problems.push(`${key || '(root)'}: environment variable ${name} is not set`);
      return undefined;
    }
    return found;
  }
  if (Array.isArray(value)) return value.map((item, i) => resolveEnv(item, `${key}[${i}]`, env, problems));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // A '__proto__' key from JSON.parse would replace `out`'s prototype; no config key needs these names.
      if (isUnsafeKey(k)) problems.push(`${keyPath(key, k)}: the key '${k}' is refused ('__proto__', 'prototype' and 'constructor' are never valid names)`);
      else out[k] = resolveEnv(v, keyPath(key, k), env, problems);
    }
    return out;
  }
  return value;
}
