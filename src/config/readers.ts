/**
 * The small readers every section uses. Each takes the raw value, the key path it came from and
 * the problem list: it returns the checked value, or records one line naming the key and returns
 * undefined — so a whole file is checked in one pass.
 */
import { isAbsolute } from 'node:path';

/** Server, box and replica set names: a letter, then letters, digits, `_` and `-`. */
export const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

export function readPort(value: unknown, key: string, problems: string[], required: boolean): number | undefined {
  if (value === undefined) {
    if (required) problems.push(`${key}: missing (a TCP port, 1–65535)`);
    return undefined;
  }
  const n = toNumber(value);
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > 65535) {
    problems.push(`${key}: must be a TCP port, 1–65535, got ${show(value)}`);
    return undefined;
  }
  return n;
}

export function readHost(value: unknown, key: string, problems: string[]): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    problems.push(`${key}: must be a host name or IP address, got ${show(value)}`);
    return undefined;
  }
  // IPv6 literals contain ':'; anything else with ':' or '/' is a URL or host:port by mistake.
  const ipv6 = value.split(':').length > 2 && /^\[?[0-9a-fA-F:.]+\]?$/.test(value);
  if (/[/\s]/.test(value) || (value.includes(':') && !ipv6)) {
    problems.push(`${key}: must be a bare host name or IP address (the port has its own key), got ${show(value)}`);
    return undefined;
  }
  return value;
}

export function readOptionalString(value: unknown, key: string, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    problems.push(`${key}: must be a non-empty string, got ${show(value)}`);
    return undefined;
  }
  return value;
}

export function readAbsolutePath(value: unknown, key: string, problems: string[], what: string): string | undefined {
  if (value === undefined) {
    problems.push(`${key}: missing — ${what}`);
    return undefined;
  }
  if (typeof value !== 'string' || !isAbsolute(value)) {
    problems.push(`${key}: must be an absolute path (${what}), got ${show(value)}`);
    return undefined;
  }
  return value;
}

export function checkUnknownKeys(value: Record<string, unknown>, key: string, known: readonly string[], problems: string[]): void {
  for (const k of Object.keys(value)) {
    if (!known.includes(k) && !isCommentKey(k)) problems.push(`${keyPath(key, k)}: unknown key (known: ${known.join(', ')})`);
  }
}

/** `$schema`, `//…` and `_comment…` keys are allowed anywhere so files can carry notes. */
export function isCommentKey(key: string): boolean {
  return key.startsWith('$') || key.startsWith('//') || key.startsWith('_comment');
}

/** Numbers, or decimal strings (what an `"env:PORT"` reference resolves to). */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}

/** `servers` + `web` → `servers.web`; at the root just the key. */
export function keyPath(key: string, child: string): string {
  return key ? `${key}.${child}` : child;
}

/** A value as an error message quotes it: JSON, cut at 60 characters. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
