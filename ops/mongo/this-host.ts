/**
 * Which of the config's hosts is this machine. `up` and `down` act only on this host's
 * processes, and steps that need MongoDB's localhost exception can only run here.
 * `--host` overrides the guess (useful when a machine has several addresses).
 */
import { hostname, networkInterfaces } from 'node:os';
import { formatHost, isLoopback } from '../../src/core/host.js';

export interface HostMatcher {
  /** The explicit `--host`, if any, for messages. */
  readonly explicit?: string;
  isLocal(host: string): boolean;
}

export function hostMatcher(explicit?: string): HostMatcher {
  if (explicit) {
    const wanted = explicit.toLowerCase();
    return { explicit, isLocal: (host) => host.toLowerCase() === wanted || (isLoopback(host) && isLoopback(explicit)) };
  }
  const local = localAddresses();
  return { isLocal: (host) => isLoopback(host) || local.has(host.toLowerCase()) };
}

function localAddresses(): Set<string> {
  const names = new Set<string>([hostname().toLowerCase()]);
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) names.add(info.address.toLowerCase());
  }
  return names;
}

/** Where to dial a process: over loopback when it runs here (mongod always binds localhost). */
export function dialAddress(host: string, port: number, matcher: HostMatcher): string {
  if (matcher.isLocal(host)) return `127.0.0.1:${port}`;
  return formatHost(host, port);
}
