/**
 * `/__READY`, the readiness check load balancers poll (the generated HAProxy config does, every
 * second): 200 `ready` while this server takes new traffic; 503 with `{ state }` while it is
 * starting (not every worker is up yet), draining (a rolling restart is about to replace its
 * workers) or stopping. `/__CHECK_ALIVE` stays a liveness check: 200 as long as the process answers.
 *
 * The state is the master's (see cpu/lifecycle.ts), carried to every worker with the topology
 * view. Each probe is reported to the master, which waits before stopping processes until
 * every load balancer that has been probing saw enough 503s to take this server out (see
 * boot/drain-watch.ts). While not ready, every answer also closes its connection, so a load
 * balancer keeps no idle connection to a process that is about to stop.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Channel, MASTER } from '../../core/envelope.js';
import { log } from '../../core/logger.js';
import { currentEndpoint, processRole } from '../../cpu/index.js';
import type { ServerState } from '../../cpu/index.js';
import { sendJson, sendText } from '../http/http-reply.js';
import { topology } from './topology.js';
import { RoleMethods } from '../role-methods.js';

export const READY_PATH = '/__READY';

export interface ReadyProbe {
  address: string;
  ready: boolean;
}

/** This server's state as this process knows it (`starting` until the master's first view arrives). */
export function currentServerState(): ServerState {
  return topology()?.serverState ?? 'starting';
}

export function isReady(): boolean {
  return currentServerState() === 'ready';
}

export function handleReady(req: IncomingMessage, res: ServerResponse): void {
  const state = currentServerState();
  const ready = state === 'ready';
  reportProbe({ address: req.socket.remoteAddress ?? '', ready });
  if (ready) sendText(res, 200, 'ready');
  else sendJson(res, 503, { state }, { 'Retry-After': '1' });
}

// Reports are bounded: at most one per address per 200 ms, at most 256 addresses remembered
// (anyone can call /__READY; only load balancers call it steadily).
const lastReport = new Map<string, number>();
let soloRecorder: ((probe: ReadyProbe) => void) | undefined;

/** In a process that is its own master, probes go straight to the drain watch. */
export function recordProbesHere(recorder: (probe: ReadyProbe) => void): void {
  soloRecorder = recorder;
}

function reportProbe(probe: ReadyProbe): void {
  const now = Date.now();
  if (now - (lastReport.get(probe.address) ?? 0) < 200) return;
  if (lastReport.size >= 256 && !lastReport.has(probe.address)) lastReport.clear();
  lastReport.set(probe.address, now);
  if (processRole() !== 'worker') {
    soloRecorder?.(probe);
    return;
  }
  try {
    currentEndpoint().message({ worker: MASTER }, Channel.System, RoleMethods.readyProbe, probe);
  } catch (error) {
    log.debug('ready.report_failed', { error });
  }
}
