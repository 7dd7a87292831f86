/**
 * Before any test file runs: the system programs the tests use are there, or are installed
 * (scripts/test-system-deps.sh, shared with .ci/run), or the run stops with ONE line saying what
 * to install — rather than a wall of failing tests. A run limited to some files (`npm test --
 * name`) goes on after that line: the files chosen may not need what is missing.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export function ensureSystemDeps(root: string, someFilesOnly: boolean): void {
  const result = spawnSync('bash', [join(root, 'scripts', 'test-system-deps.sh')], { cwd: root, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (result.status === 0) return;
  const why = result.stderr?.trim() || `cannot check the system packages the tests need (${result.error?.message ?? `exit ${result.status}`})`;
  if (someFilesOnly) {
    console.error(`npm test: ${why}; running the chosen files anyway`);
    return;
  }
  console.error(`npm test: ${why}`);
  process.exit(1);
}
