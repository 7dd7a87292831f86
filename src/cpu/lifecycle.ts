/**
 * Where this server is in its life, as a load balancer needs to know it (`/__READY`):
 *
 *   starting ──(every worker ready)──▶ ready ──SIGUSR2──▶ draining ──(workers rolled)──▶ ready
 *                                          └──SIGTERM/SIGINT──▶ stopping
 *
 * Kept by the master (or the solo process). Before a rolling restart or a graceful stop the
 * master enters `draining` / `stopping` and awaits the drainer: boot() installs one that waits
 * until the load balancers probing `/__READY` have seen the 503 often enough to take this server
 * out of rotation, so no new request arrives at processes that are about to stop.
 */
import { log } from '../core/logger.js';

export type ServerState = 'starting' | 'ready' | 'draining' | 'stopping';

export type Drainer = (state: 'draining' | 'stopping') => Promise<void>;

let state: ServerState = 'starting';
let drainer: Drainer | undefined;
const listeners = new Set<(state: ServerState) => void>();

export function serverState(): ServerState {
  return state;
}

export function setServerState(next: ServerState): void {
  // Once stopping, nothing brings the server back (a rolling restart ending during a stop).
  if (state === next || state === 'stopping') return;
  state = next;
  log.info('server.state', { state });
  for (const listener of listeners) listener(next);
}

export function onServerState(listener: (state: ServerState) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Sets what "drained" means for this process (one drainer; a later call replaces it). */
export function setDrainer(next: Drainer | undefined): void {
  drainer = next;
}

/** Enters `draining` or `stopping` and waits for the drainer (errors are logged, never thrown). */
export async function drain(next: 'draining' | 'stopping'): Promise<void> {
  setServerState(next);
  if (!drainer) return;
  try {
    await drainer(next);
  } catch (error) {
    log.warn('server.drain_failed', { error });
  }
}
