/**
 * A configuration error is not a crash: restarting a worker cannot fix its options. Wherever one
 * surfaces while a server starts (a worker's `work()`, the master opening the mesh port, a solo
 * process), the whole process stops with ONE plain line on stderr and exit code 1 — no stack,
 * no JSON, no restart loop.
 */
import { ConfigError, RemoteError } from '../core/errors.js';
import type { Master } from './master.js';
import { currentEndpoint, processRole } from './runtime.js';
import type { WorkerRuntime } from './worker-runtime.js';

/** The message of a configuration error (also one a master sent back as a RemoteError), else undefined. */
export function configErrorMessage(error: unknown): string | undefined {
  if (error instanceof ConfigError) return error.message;
  if (error instanceof RemoteError && error.remoteName === 'ConfigError') return error.remoteMessage;
  return undefined;
}

let printed = false;

/** Prints the one line, once per process. */
export function printConfigError(message: string): void {
  if (printed) return;
  printed = true;
  process.stderr.write(`ConfigError: ${message}\n`);
}

/**
 * Stops this server because of a configuration error: a worker asks its master (which prints the
 * line, stops every worker and exits 1); a master or a solo process does so itself. The returned
 * Promise never settles (the process is on its way out), so nothing after it runs.
 */
export function stopOnConfigError(message: string): Promise<never> {
  const role = processRole();
  if (role === 'worker') (currentEndpoint() as WorkerRuntime).reportConfigError(message);
  else if (role === 'master') void (currentEndpoint() as Master).stopOnConfigError(message);
  else {
    printConfigError(message);
    process.exit(1);
  }
  return new Promise<never>(() => {});
}
