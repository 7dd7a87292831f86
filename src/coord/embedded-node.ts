/**
 * The embedded backend across one server's processes: the master (or the only process) holds the
 * EmbeddedCoordinator; a worker forwards each call to it as a request on the system channel. Waits
 * (lock release, queue push) are parked in the master, so waiting workers send nothing meanwhile.
 */
import cluster from 'node:cluster';
import { Channel, MASTER } from '../core/envelope.js';
import { ConfigError, RemoteError } from '../core/errors.js';
import { currentEndpoint, processRole, sharedRegistries } from '../cpu/index.js';
import type { CoordBackend } from './coord-backend.js';
import { EmbeddedCoordinator } from './embedded-coordinator.js';
import { checkName } from './coord-input.js';

/** The coordination layer's one system-channel method (worker → master request), named by the `bw.<layer>.<name>` rule. */
const CALL = 'bw.coord.call';
const CALL_TIMEOUT_MS = 30_000;

type Operation = Exclude<keyof CoordBackend, 'kind'>;
const OPERATIONS: ReadonlySet<string> = new Set<Operation>([
  'lockAcquire', 'lockRenew', 'lockRelease', 'lockWait',
  'queuePush', 'queueClaim', 'queueExtend', 'queueComplete', 'queueFail', 'queueCounts', 'queueFailed', 'queueRetryFailed', 'queueWait',
]);
/** Operations that wait up to their last argument (ms) in the master. */
const WAITS: ReadonlySet<string> = new Set(['lockWait', 'queueWait']);

let local: EmbeddedCoordinator | undefined;

/** The coordinator of this server; only in the master or a process without workers. */
export function localCoordinator(): EmbeddedCoordinator {
  if (!local) {
    local = new EmbeddedCoordinator();
    // A worker that exits (crash or stop) gives its locks and running jobs back at once.
    if (cluster.isPrimary) cluster.on('exit', (worker) => worker.process.pid !== undefined && local!.forgetProcess(worker.process.pid));
  }
  return local;
}

/** A worker's view: every call is a request to the master. */
function workerProxy(): CoordBackend {
  const call = (op: Operation) => (...args: unknown[]) => {
    const last = args[args.length - 1];
    const timeoutMs = WAITS.has(op) ? (last as number) + CALL_TIMEOUT_MS : CALL_TIMEOUT_MS;
    return currentEndpoint().request({ worker: MASTER }, Channel.System, CALL, [op, args], timeoutMs).catch((error) => {
      throw error instanceof RemoteError && error.remoteName === 'ConfigError' ? new ConfigError(error.remoteMessage) : error;
    });
  };
  const proxy = { kind: 'embedded' } as Record<string, unknown>;
  for (const op of OPERATIONS) proxy[op] = call(op as Operation);
  return proxy as unknown as CoordBackend;
}

let proxy: CoordBackend | undefined;

export function embeddedBackend(): CoordBackend {
  if (processRole() === 'worker') return (proxy ??= workerProxy());
  return localCoordinator();
}

sharedRegistries()[Channel.System].on(CALL, (data: unknown) => {
  if (processRole() === 'worker') throw new ConfigError('coordination calls go to the master');
  if (!Array.isArray(data) || data.length !== 2 || typeof data[0] !== 'string' || !OPERATIONS.has(data[0]) || !Array.isArray(data[1])) {
    throw new ConfigError('malformed coordination call');
  }
  // Workers check names before they call; the master checks again, as every receiver of a message does.
  checkName(data[0], (data[1] as unknown[])[0]);
  const coordinator = localCoordinator() as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return coordinator[data[0]](...(data[1] as unknown[]));
});
