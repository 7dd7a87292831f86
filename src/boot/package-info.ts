import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** boxwire's own package.json, found by walking up from this file (works from src/ and dist/). */
export function packageInfo(): { name: string; version: string; root: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const json = JSON.parse(readFileSync(candidate, 'utf8'));
      if (json.name === 'boxwire') return { name: json.name, version: json.version, root: dir };
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('boxwire: cannot find its package.json');
    dir = parent;
  }
}
