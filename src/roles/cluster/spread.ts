/**
 * Which server a discovery request names: one of the live servers of the role, drawn at random
 * with a weight for its spare capacity, so a burst of clients (a page opened by thousands, a
 * reconnect storm after a restart) spreads over the servers instead of all landing on the one
 * that was least loaded at the last heartbeat.
 *
 * Weight: `HEADROOM / (HEADROOM + max(0, load − least − NOISE))`, where load is the server's load figure (machine
 * load per core + its link owner's event-loop use + clients/1000, see topology-source.ts) and
 * least the lowest among the candidates. Servers equally loaded get equal shares; one whose load
 * is NOISE + HEADROOM (0.1 + 0.25, e.g. 350 more clients) above the least loaded gets half the
 * share of it, NOISE + 0.75 above a quarter. Nobody gets zero: load figures are a second old. A server whose load is
 * not known yet counts as HEADROOM above the least.
 */
import type { Role } from '../../config/index.js';
import { liveServersWithRole, type ServerView } from './topology.js';

export const HEADROOM = 0.25;
/** Differences this small are measurement noise (load averages sampled a moment apart): equal shares. */
export const NOISE = 0.1;

export function spreadWeights(servers: readonly ServerView[]): number[] {
  const known = servers.map((s) => s.load).filter((l): l is number => l !== null);
  const least = known.length ? Math.min(...known) : 0;
  return servers.map((s) => HEADROOM / (HEADROOM + (s.load === null ? HEADROOM : Math.max(0, s.load - least - NOISE))));
}

export function pickServer(role: Role, random: () => number = Math.random): ServerView | undefined {
  const servers = liveServersWithRole(role);
  if (servers.length <= 1) return servers[0];
  const weights = spreadWeights(servers);
  let at = random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < servers.length; i++) {
    at -= weights[i];
    if (at < 0) return servers[i];
  }
  return servers[servers.length - 1];
}
