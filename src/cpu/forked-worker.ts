import cluster from 'node:cluster';

/**
 * How a master tells a process it forks which worker id it serves: two environment variables.
 * node:cluster alone is not enough — a worker of some other cluster (a test runner, a user's own
 * cluster) is not a boxwire worker.
 */
const WORKER_ID = 'BOXWIRE_WORKER_ID';
const WORKER_COUNT = 'BOXWIRE_WORKER_COUNT';

/** Whether this process is a worker a boxwire master forked (whether or not its runtime started yet). */
export function isForkedWorker(): boolean {
  return cluster.isWorker && Boolean(process.env[WORKER_ID]);
}

/** The environment of a forked worker serving `workerId` of `workerCount`. */
export function forkedWorkerEnv(workerId: number, workerCount: number): Record<string, string> {
  return { [WORKER_ID]: String(workerId), [WORKER_COUNT]: String(workerCount) };
}

/** The worker id and count a forked worker was started with. */
export function forkedWorkerIdentity(): { workerId: number; workerCount: number } {
  return { workerId: Number(process.env[WORKER_ID]), workerCount: Number(process.env[WORKER_COUNT]) };
}
