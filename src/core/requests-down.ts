import { PeerDownError } from './errors.js';
import type { RequestTable } from './request-table.js';

/**
 * System-channel message from a master to a requester (a worker or master, on this server or
 * another): "the process that was handling these requests of yours died". The requester rejects
 * them at once with PeerDownError instead of waiting for their deadline. Its own request table
 * only knows where it sent a request (e.g. any worker of server B), not which process took it:
 * the master that routed it does.
 */
export const REQUESTS_DOWN = 'bw.core.requestsDown';

export interface RequestsDownNotice {
  /** Request ids in the receiving process. */
  ids: number[];
  /** Which process went down, for the error message. */
  who: string;
}

/** Rejects the listed requests (ids already settled are ignored). Data from the network is checked. */
export function settleRequestsDown(requests: RequestTable, data: unknown): void {
  const notice = data as Partial<RequestsDownNotice> | null;
  if (!notice || !Array.isArray(notice.ids) || typeof notice.who !== 'string') return;
  for (const id of notice.ids) {
    if (typeof id === 'number') requests.reject(id, new PeerDownError(notice.who.slice(0, 200)));
  }
}

/**
 * System-channel message from a master to the master and the workers of every other server it is
 * linked to: "my worker N died". Requests addressed to that very worker (`workerId` given) from
 * elsewhere are pending as `<server>/<N>` there; they reject at once with PeerDownError.
 */
export const WORKER_DOWN = 'bw.core.remoteWorkerDown';

export interface WorkerDownNotice {
  server: string;
  worker: number;
}

export function settleWorkerDown(reject: (matches: (peer: string) => boolean, who: string) => void, data: unknown): void {
  const notice = data as Partial<WorkerDownNotice> | null;
  if (!notice || typeof notice.server !== 'string' || typeof notice.worker !== 'number') return;
  const peer = `${notice.server}/${notice.worker}`;
  reject((p) => p === peer, `worker ${notice.worker} of server '${notice.server.slice(0, 100)}'`);
}
