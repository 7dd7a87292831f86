/**
 * `npm run bench`: runs every benchmark in test/bench (or those matching the arguments) one after
 * another, each in its own process so they do not disturb each other. Each prints its own table
 * with ratios against a baseline it measured in the same run.
 *
 * `--node <version>` (repeatable) runs them on those Node lines instead of this one, one line
 * after the other, each benchmark's table under a heading naming the Node it ran on:
 * `npm run bench -- --node current --node 26 cpu server` puts Node 26 beside the machine's Node.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { nodeBinary, parseBenchArgs } from './_node-line.js';

const dir = import.meta.dirname;
const { nodes, filters } = parseBenchArgs(process.argv.slice(2));
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.ts') && name !== 'run.ts' && !name.startsWith('_'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort();
const binaries = (nodes.length ? nodes : ['current']).map(nodeBinary);
let failed = 0;
for (const name of files) {
  for (const node of binaries) {
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    console.log(`\n=== ${name} on Node ${version} ===`);
    // The line's own bin first in PATH: anything a bench starts by name runs on that Node too.
    const env = { ...process.env, BOXWIRE_LOG: 'error', PATH: `${dirname(node)}:${process.env.PATH ?? ''}` };
    const result = spawnSync(node, ['--import', 'tsx', join(dir, name)], { stdio: 'inherit', env });
    if (result.status !== 0) failed++;
  }
}
process.exit(failed ? 1 : 0);
