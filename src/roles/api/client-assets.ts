/**
 * The browser-side files the roles serve (the client module, the cluster page). They are plain
 * files, not TypeScript, so a build does not copy them: from `dist/src/roles/api` they are read from
 * the package's `src/roles/client` (shipped through package.json "files").
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const candidates = [join(import.meta.dirname, '..', 'client'), join(import.meta.dirname, '..', '..', '..', '..', 'src', 'roles', 'client')];
const dir = candidates.find((d) => existsSync(join(d, 'boxwire-client.js'))) ?? candidates[0];

export function readClientAsset(name: string): string {
  return readFileSync(join(dir, name), 'utf8');
}
