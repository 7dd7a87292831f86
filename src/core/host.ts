/**
 * Host names as boxwire compares and prints them. One rule for every layer: the mesh's "no key
 * off loopback" check, the cluster config's clash and MongoDB checks, URLs, upstreams and
 * connection strings all agree on what loopback is and how an IPv6 literal is written.
 */
import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6'); // BlockList also matches IPv4-mapped ::ffff:127.x against the IPv4 range

/** The host without IPv6 brackets: `[::1]` → `::1`. */
export function unbracketHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * True for `localhost`, 127.0.0.0/8 and `::1` (also bracketed, `[::1]`, or written out in full),
 * and IPv4-mapped `::ffff:127.x.y.z`. Any other name — even one that resolves to loopback — is
 * not: the answer must not depend on DNS.
 */
export function isLoopback(host: string): boolean {
  const h = unbracketHost(host.trim().toLowerCase());
  if (h === 'localhost') return true;
  const version = isIP(h);
  return version !== 0 && LOOPBACK.check(h, version === 4 ? 'ipv4' : 'ipv6');
}

/** `host:port` for URLs and connection strings, an IPv6 literal in brackets (`[::1]:8080`). */
export function formatHost(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/** `localhost` and 127.0.0.1 name the same socket address: one key for clash detection. */
export function canonicalHost(host: string): string {
  const h = host.toLowerCase();
  return h === 'localhost' ? '127.0.0.1' : h;
}
