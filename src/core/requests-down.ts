import { PeerDownError } from './errors.js';
import type { RequestTable } from './request-table.js';

/**
 * System-channel message from a master to a requester (a worker or master, on this server or
 * another): "the process that was handling these requests of yours died". The requester rejects
 * them at once with PeerDownError instead of waiting for their deadline. Its own request table
 * only knows where it sent a request (e.g. any worker of server B), not which process took it:
 * the master that routed it does.
 */
export const REQUESTS_DOWN = 'bw.requestsDown';

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
