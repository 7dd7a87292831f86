/**
 * The shared keyfile: the secret mongods and mongos use to authenticate each other
 * (internal/membership authentication). MongoDB wants 6–1024 base64 characters and refuses a
 * file readable by group or others. Its content is never printed — only a fingerprint, so the
 * copies on every host can be compared.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { OpsError } from '../errors.js';

/** 756 random bytes are 1008 base64 characters: as long as MongoDB allows, in one line. */
const KEY_BYTES = 756;

export interface KeyfileResult {
  path: string;
  characters: number;
  fingerprint: string;
}

export function generateKeyfile(path: string, options: { force?: boolean } = {}): KeyfileResult {
  if (!options.force && exists(path)) throw new OpsError(`${path} already exists; pass --force to replace it (then copy the new file to every host)`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (options.force && exists(path)) unlinkSync(path); // a 0400 file cannot be rewritten in place
  const key = randomBytes(KEY_BYTES).toString('base64');
  writeFileSync(path, `${key}\n`, { mode: 0o400, flag: 'wx' });
  chmodSync(path, 0o400); // the umask may have narrowed it further; make it exact
  return { path, characters: key.length, fingerprint: fingerprint(key) };
}

/** Problems that would make mongod refuse the keyfile, one line each (empty when fine). */
export function checkKeyfile(path: string): string[] {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return [`keyfile ${path} does not exist: create it with \`boxwire ops mongo keyfile --config FILE\` on one host and copy it to the same path on every host`];
  }
  const problems: string[] = [];
  if (mode & 0o077) problems.push(`keyfile ${path} has mode 0${mode.toString(8)}; mongod refuses a keyfile readable by group or others: chmod 400 ${path}`);
  let key: string;
  try {
    key = keyContent(path);
  } catch (error) {
    return [...problems, `keyfile ${path} cannot be read: ${(error as Error).message}`];
  }
  if (!/^[A-Za-z0-9+/=]*$/.test(key)) problems.push(`keyfile ${path} holds characters outside the base64 set`);
  if (key.length < 6 || key.length > 1024) problems.push(`keyfile ${path} holds ${key.length} characters; MongoDB needs 6 to 1024`);
  return problems;
}

export function keyfileFingerprint(path: string): string {
  return fingerprint(keyContent(path));
}

/** MongoDB ignores whitespace in a keyfile. */
function keyContent(path: string): string {
  return readFileSync(path, 'utf8').replace(/\s+/g, '');
}

function fingerprint(key: string): string {
  return `sha256:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
