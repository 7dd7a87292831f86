import { describeAddress, type Address } from '../core/endpoint.js';
import { ALL_WORKERS, Channel, MASTER } from '../core/envelope.js';
import { ConfigError, UnknownPeerError } from '../core/errors.js';
import { log } from '../core/logger.js';
import { assertMethodName, type Handler } from '../core/registry.js';
import { encode } from '../core/codec.js';
import { watchStartUp } from '../core/startup-watch.js';
import { DEFAULT_TIMEOUT_MS } from '../core/request-table.js';
import { configErrorMessage, stopOnConfigError } from './config-failure.js';
import { drain, setServerState } from './lifecycle.js';
import { Master } from './master.js';
import { forkedWorkerIdentity, isForkedWorker } from './forked-worker.js';
import { currentEndpoint, installEndpoint, processRole, sharedRegistries } from './runtime.js';
import { onShutdown, runShutdownHooks, runStopAcceptingHooks } from './shutdown-hooks.js';
import { SoloRuntime } from './solo-runtime.js';
import { resolveWorkerCount } from './worker-count.js';
import { WorkerRuntime } from './worker-runtime.js';

export interface CpuClusteringOptions {
  /** Number of workers; default by core count (see docs/cpu-clustering.md, "Worker count"). 0 runs `work` in this process. */
  workers?: number;
  /** Runs in the master process before the workers are forked (master-side handlers). */
  master?: () => unknown;
  /** How long a stopping worker may take before it is killed. Default 10 000 ms. */
  gracefulTimeoutMs?: number;
  /** Bounds of the master's per-worker outbox (default 100 000 messages / 64 MiB). */
  outbox?: { maxMessages?: number; maxBytes?: number };
}

export type Work = () => unknown;

/** A reply callback, or UPPERCASE's handler object that also receives failures. */
export type ReplyCallback<R = any> = ((reply: R) => void) | { success?: (reply: R) => void; error?: (error: Error) => void };

export interface SendParams<D = unknown> {
  workerId: number;
  methodName: string;
  data?: D;
}

let started: Promise<void> | undefined;

/**
 * Runs `work` on every core: in a master, forks the workers and resolves once they are all
 * ready; in a worker, runs `work` and reports ready when it (or its Promise) completes.
 */
function start(optionsOrWork: CpuClusteringOptions | Work, maybeWork?: Work): Promise<void> {
  const options = typeof optionsOrWork === 'function' ? {} : optionsOrWork ?? {};
  const work = typeof optionsOrWork === 'function' ? optionsOrWork : maybeWork;
  if (typeof work !== 'function') throw new ConfigError('CPU_CLUSTERING(options?, work): work must be a function');
  if (started) throw new ConfigError('CPU_CLUSTERING was already started in this process; call it once');
  started = isForkedWorker() ? startWorker(work) : startPrimary(options, work);
  return started;
}

async function startWorker(work: Work): Promise<void> {
  const { workerId, workerCount } = forkedWorkerIdentity();
  const runtime = new WorkerRuntime(workerId, workerCount, sharedRegistries());
  // SERVER_CLUSTERING(config, () => CPU_CLUSTERING(work)) named the server before this runtime existed.
  runtime.serverName = currentEndpoint().serverName;
  installEndpoint(runtime, 'worker');
  try {
    await watchStartUp(`work() of worker ${runtime.workerId}`, currentEndpoint, work);
  } catch (error) {
    const configError = configErrorMessage(error);
    if (configError !== undefined) return stopOnConfigError(configError);
    // The master sees the exit, logs it with the code and restarts this id with backoff.
    log.error('worker.start_failed', { workerId: runtime.workerId, error, stack: (error as Error)?.stack });
    process.exit(1);
  }
  runtime.reportReady();
}

async function startPrimary(options: CpuClusteringOptions, work: Work): Promise<void> {
  const workers = resolveWorkerCount(options.workers);
  if (workers === 0) {
    let solo = currentEndpoint();
    if (!(solo instanceof SoloRuntime)) installEndpoint((solo = new SoloRuntime(sharedRegistries())), 'solo');
    installSignals(async () => {
      await drain('stopping');
      await runStopAcceptingHooks();
      await runShutdownHooks();
      process.exit(0);
    });
    solo.beginStartUp();
    try {
      await options.master?.();
      await watchStartUp('work()', currentEndpoint, work);
      setServerState('ready');
    } catch (error) {
      const configError = configErrorMessage(error);
      if (configError !== undefined) return stopOnConfigError(configError);
      throw error;
    } finally {
      solo.finishStartUp();
    }
    return;
  }
  const master = new Master({ workers, gracefulTimeoutMs: options.gracefulTimeoutMs, outbox: options.outbox }, sharedRegistries());
  const previous = currentEndpoint();
  master.serverName = previous.serverName;
  master.serverRouter = previous.serverRouter;
  master.adoptHeld(previous);
  installEndpoint(master, 'master');
  installSignals(() => master.shutdown(), () => master.rollingRestart());
  try {
    await options.master?.();
  } catch (error) {
    const configError = configErrorMessage(error);
    if (configError !== undefined) return stopOnConfigError(configError);
    throw error;
  }
  await master.start();
}

function installSignals(stop: () => Promise<void>, roll?: () => Promise<void>): void {
  const onStop = (signal: string) => {
    log.info('signal', { signal });
    void stop();
  };
  process.once('SIGTERM', onStop);
  process.once('SIGINT', onStop);
  if (roll) process.on('SIGUSR2', () => void roll());
}

function validateWorker(workerId: unknown): number {
  const count = currentEndpoint().workerCount;
  if (!Number.isInteger(workerId) || (workerId as number) < 0 || (workerId as number) > count) {
    throw new UnknownPeerError(`there is no worker ${String(workerId)}: valid ids are ${MASTER} (master) and 1..${count}`);
  }
  return workerId as number;
}

/** Sends fire-and-forget, or (with a callback) as a request whose reply reaches the callback. */
export function sendTo<R>(to: Address, channel: Channel, params: { methodName: string; data?: unknown }, callback?: ReplyCallback<R>): void {
  const endpoint = currentEndpoint();
  if (!callback) {
    endpoint.message(to, channel, params.methodName, params.data);
    return;
  }
  const onSuccess = typeof callback === 'function' ? callback : callback.success;
  const onError = typeof callback === 'function' ? undefined : callback.error;
  endpoint.request<R>(to, channel, params.methodName, params.data).then(
    (reply) => onSuccess?.(reply),
    (error: Error) => {
      if (onError) onError(error);
      else log.warn('send.failed', { method: params.methodName, to: describeAddress(to), error });
    },
  );
}

export const CPU_CLUSTERING = Object.assign(start, {
  /** Registers a handler for messages sent to this process by `methodName`. */
  on(methodName: string, handler: Handler): void {
    sharedRegistries()[Channel.Cpu].on(methodName, handler);
  },
  /** Removes one handler, or all of a method's handlers. */
  off(methodName: string, handler?: Handler): void {
    sharedRegistries()[Channel.Cpu].off(methodName, handler);
  },
  /** Fire-and-forget, or with a callback, UPPERCASE style: `callback(reply)`. */
  send<R = any>(params: SendParams, callback?: ReplyCallback<R>): void {
    sendTo({ worker: validateWorker(params?.workerId) }, Channel.Cpu, params, callback);
  },
  /** Sends and returns a Promise of the reply; rejects with TimeoutError, PeerDownError or RemoteError. */
  request<R = any>(params: SendParams, options: { timeoutMs?: number } = {}): Promise<R> {
    try {
      return currentEndpoint().request<R>({ worker: validateWorker(params?.workerId) }, Channel.Cpu, params.methodName, params.data, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    } catch (error) {
      return Promise.reject(error);
    }
  },
  /** Every other worker of this server (the master's broadcast reaches every worker). */
  broadcast(params: { methodName: string; data?: unknown }): void {
    if (processRole() === 'solo') {
      // A solo process has no other worker; still check the call so mistakes show up unclustered.
      assertMethodName(params?.methodName);
      encode(params.data);
      return;
    }
    currentEndpoint().message({ worker: ALL_WORKERS }, Channel.Cpu, params.methodName, params.data);
  },
  getWorkerId(): number {
    return currentEndpoint().workerId;
  },
  getWorkerCount(): number {
    return currentEndpoint().workerCount;
  },
  checkIsMaster(): boolean {
    return processRole() === 'master';
  },
  onShutdown,
});
