/**
 * The master's side of SERVER_CLUSTERING: what it answers its workers (their options, which start
 * the mesh when the first of them asks; the clock offsets it measured) and what it tells them.
 */
import { ALL_WORKERS, Channel } from '../core/envelope.js';
import { ConfigError } from '../core/errors.js';
import { log } from '../core/logger.js';
import { configErrorMessage, currentEndpoint, processRole, sharedRegistries, stopOnConfigError } from '../cpu/index.js';
import { connect, createOwner } from './clustering-startup.js';
import { clusteringState, membership } from './clustering-state.js';
import { ServerControl, type MembershipSnapshot } from './control.js';
import { validateServerConfig, type ServerClusteringConfig } from './options.js';

const system = sharedRegistries()[Channel.System];

/** The first worker's options create the mesh; every worker's answer waits until it is connected. */
system.on(ServerControl.config, async (options: ServerClusteringConfig) => {
  if (processRole() !== 'master') throw new ConfigError('SERVER_CLUSTERING options can only be forwarded to a master');
  const config = validateServerConfig(options);
  const state = clusteringState();
  if (!state) {
    const owner = createOwner(config);
    owner.started = connect(owner);
    // The cluster port cannot open (in use, not an address here): no worker can run; restarting
    // them forever would not help. One clear line, exit 1.
    owner.started.catch(reportNetworkFailure);
  } else if (state.config.fingerprint !== config.fingerprint) {
    throw new ConfigError(`SERVER_CLUSTERING: worker options differ from this server's (${describeDifference(state.config.fingerprint, config.fingerprint)}); every worker must pass the same options`);
  }
  const current = clusteringState();
  if (current?.kind === 'owner') await connect(current);
  return { connected: membership.connectedNames() } satisfies MembershipSnapshot;
});

system.on(ServerControl.offsets, () => {
  const state = clusteringState();
  return state?.kind === 'owner' ? state.mesh.clockOffsets() : {};
});

/**
 * The master could not open the mesh (its port is taken, its address is not on this machine):
 * the options it got from its workers cannot work, so the whole server stops with one line.
 */
function reportNetworkFailure(error: unknown): void {
  const configError = configErrorMessage(error);
  if (configError !== undefined) return void stopOnConfigError(configError);
  log.error('server.start_failed', { error: (error as Error).message });
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}

function describeDifference(a: string, b: string): string {
  const left = JSON.parse(a) as Record<string, unknown>;
  const right = JSON.parse(b) as Record<string, unknown>;
  const keys = Object.keys(left).filter((key) => JSON.stringify(left[key]) !== JSON.stringify(right[key]));
  return keys.length ? `differs in ${keys.join(', ')}` : 'differs';
}

/** master → every worker: a server's link came up or went down. */
export function tellWorkers(method: string, data: unknown): void {
  if (processRole() !== 'master') return;
  try {
    currentEndpoint().message({ worker: ALL_WORKERS }, Channel.System, method, data);
  } catch (error) {
    log.warn('server.notice_undeliverable', { method, error });
  }
}
