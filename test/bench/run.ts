/**
 * `npm run bench`: runs every benchmark in test/bench (or those matching the arguments) one after
 * another, each in its own process so they do not disturb each other. Each prints its own table
 * with ratios against a baseline it measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.ts') && name !== 'run.ts' && !name.startsWith('_'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort();
let failed = 0;
for (const name of files) {
  console.log(`\n=== ${name} ===`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(dir, name)], { stdio: 'inherit', env: { ...process.env, BOXWIRE_LOG: 'error' } });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
