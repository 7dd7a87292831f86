// Pinning bench processes to cores with taskset (util-linux), where it is available.
import { execFileSync } from 'node:child_process';

/** Whether `taskset` can be used here (it is missing on some minimal systems). */
export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The command and arguments that run `node args…` pinned to `cores` (or unpinned when undefined). */
export function nodeCommand(args: string[], cores?: string): [command: string, argv: string[]] {
  return cores === undefined ? [process.execPath, args] : ['taskset', ['-c', cores, process.execPath, ...args]];
}
