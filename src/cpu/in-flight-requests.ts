import { Kind, type Envelope } from '../core/envelope.js';

/** Per worker id, at most this many requests are remembered (the oldest are forgotten first). */
const MAX_PER_WORKER = 20_000;
/**
 * Requests older than this are forgotten: replies between two workers of this server pass the
 * master undecoded, so it never sees them settle. A forgotten request that is still pending when
 * its worker dies settles by its own deadline, as before.
 */
const MAX_AGE_MS = 5 * 60_000;

/** Who asked: a server ('' = this one), a worker on it, and the request id in that process. */
export interface Requester {
  server: string;
  worker: number;
}

interface Entry extends Requester {
  id: number;
  at: number;
}

/**
 * Requests the master handed to a worker process that it routed itself (addressed to "any
 * worker", or from another server), so that when that process dies each requester learns it at
 * once (PeerDownError) instead of waiting for its deadline. The requester cannot tell on its own:
 * it only knows it asked "any worker of server B", not which process took the request.
 * Bounded by count and age; a stale entry is harmless (the requester ignores settled ids).
 */
export class InFlightRequests {
  private readonly byWorker = new Map<number, Map<string, Entry>>();

  constructor(private readonly thisServer: () => string | undefined) {}

  /** A request envelope is being written to worker `workerId`'s live process. */
  track(workerId: number, envelope: Envelope): void {
    if (envelope.kind !== Kind.Request) return;
    let entries = this.byWorker.get(workerId);
    if (!entries) this.byWorker.set(workerId, (entries = new Map()));
    const server = this.serverOf(envelope.fromServer);
    const now = Date.now();
    entries.set(keyOf(server, envelope.fromWorker, envelope.id), { server, worker: envelope.fromWorker, id: envelope.id, at: now });
    for (const [key, entry] of entries) {
      if (entries.size <= MAX_PER_WORKER && entry.at > now - MAX_AGE_MS) break;
      entries.delete(key);
    }
  }

  /** Worker `workerId` answered (a reply or failure the master decoded on its way back). */
  settled(workerId: number, envelope: Envelope): void {
    if (envelope.kind !== Kind.Reply && envelope.kind !== Kind.Failure) return;
    this.byWorker.get(workerId)?.delete(keyOf(this.serverOf(envelope.toServer), envelope.toWorker ?? 0, envelope.id));
  }

  /** Worker `workerId`'s process died: its unanswered requests, grouped by requester. */
  takeAll(workerId: number): Array<{ requester: Requester; ids: number[] }> {
    const entries = this.byWorker.get(workerId);
    this.byWorker.delete(workerId);
    const groups = new Map<string, { requester: Requester; ids: number[] }>();
    for (const entry of entries?.values() ?? []) {
      const key = `${entry.server}/${entry.worker}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { requester: { server: entry.server, worker: entry.worker }, ids: [] }));
      group.ids.push(entry.id);
    }
    return [...groups.values()];
  }

  private serverOf(server: string | undefined): string {
    return server === undefined || server === this.thisServer() ? '' : server;
  }
}

function keyOf(server: string, worker: number, id: number): string {
  return `${server}/${worker}/${id}`;
}
