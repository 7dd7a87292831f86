/**
 * A worker's side of SERVER_CLUSTERING: its options go to its master (joinMaster), its notices
 * to the master are one-way messages, and the master's notices of servers coming and going keep
 * its membership view and reject what it had pending on a server that went down.
 */
import { Channel, MASTER } from '../core/envelope.js';
import { RemoteError } from '../core/errors.js';
import { log } from '../core/logger.js';
import { configErrorMessage, currentEndpoint, sharedRegistries, stopOnConfigError } from '../cpu/index.js';
import { membership } from './clustering-state.js';
import { ServerControl, type MembershipSnapshot } from './control.js';
import type { ServerClusteringConfig } from './options.js';

/**
 * Worker → master notice, one-way: the master's runtime consumes only its own control notices
 * (cpu/control.ts), so this reaches the System handler registered for `method`.
 */
export function notifyMaster(method: string, data: unknown): void {
  try {
    currentEndpoint().message({ worker: MASTER }, Channel.System, method, data);
  } catch (error) {
    log.debug('server.notice_failed', { method, error });
  }
}

/**
 * Resolves once the master accepted the options and is connected. A worker whose options differ
 * from its server's (or whose server cannot open its port) must not run: one clear line, exit 1.
 */
export async function joinMaster(options: ServerClusteringConfig): Promise<void> {
  try {
    const snapshot = await currentEndpoint().request<MembershipSnapshot>({ worker: MASTER }, Channel.System, ServerControl.config, options, 120_000);
    membership.reset(snapshot.connected);
  } catch (error) {
    const configError = configErrorMessage(error);
    if (configError !== undefined) return stopOnConfigError(configError);
    log.error('server.config_rejected', { workerId: currentEndpoint().workerId, error: error instanceof RemoteError ? error.remoteMessage : (error as Error).message });
    throw error;
  }
}

const system = sharedRegistries()[Channel.System];

system.on(ServerControl.up, ({ server }: { server: string }) => membership.markUp(server));
system.on(ServerControl.down, ({ server }: { server: string }) => {
  currentEndpoint().peerDown((peer) => peer.startsWith(server + '/'), `server '${server}'`);
  membership.markDown(server);
});
