import { availableParallelism } from 'node:os';
import { ConfigError } from '../core/errors.js';

/**
 * How many workers to fork: `cpus − 1`, but 2 on a 2-core machine (one core would be left to a
 * master that mostly routes), and 0 (run in-process) on one core. `workers` or BOXWIRE_WORKERS
 * override; 0 means "no forking".
 */
export function resolveWorkerCount(option?: number, env = process.env, cpus = availableParallelism()): number {
  const fromEnv = env.BOXWIRE_WORKERS;
  const chosen = option ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : undefined);
  if (chosen !== undefined) {
    if (!Number.isInteger(chosen) || chosen < 0 || chosen > 0xfff0) {
      throw new ConfigError(`workers must be an integer from 0 to 65520 (got ${option !== undefined ? option : `BOXWIRE_WORKERS=${fromEnv}`})`);
    }
    return chosen;
  }
  if (cpus <= 1) return 0;
  if (cpus === 2) return 2;
  return cpus - 1;
}
