import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What boxwire's own package.json says, and the folder it is in (the package root). */
export interface PackageInfo {
  name: string;
  version: string;
  /** The package root: templates/, boxes/ and package.json live here (from src/ and from dist/). */
  root: string;
  /** The whole package.json, read-only (engines, dependencies… for `boxwire init`). */
  manifest: Readonly<Record<string, unknown>>;
}

let found: PackageInfo | undefined;

/**
 * boxwire's own package.json, found by walking up from this file (works from src/ and dist/).
 * The one way every module finds the package: /__VERSION, `boxwire --version`, `boxwire init`,
 * `npm start` and the demo cluster. Read once per process.
 */
export function packageInfo(): PackageInfo {
  found ??= findPackage();
  return found;
}

function findPackage(): PackageInfo {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const json = JSON.parse(readFileSync(candidate, 'utf8')) as Record<string, unknown>;
      if (json.name === 'boxwire') return { name: json.name, version: String(json.version), root: dir, manifest: Object.freeze(json) };
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('boxwire: cannot find its package.json');
    dir = parent;
  }
}
