/**
 * Runs a command to its exit and collects what it printed. A process that wrongly keeps running
 * (a crash loop, a start that should have failed) is killed after `killAfterMs`, so the test
 * fails on its assertions instead of hanging.
 */
import { spawn } from 'node:child_process';
import { repoRoot } from './process-harness.js';

export interface ExitResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runToExit(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; killAfterMs: number }): Promise<ExitResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd ?? repoRoot, env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
