/**
 * The cluster config's keys about the cluster's edge (what sits between browsers and servers):
 *
 * - `publicUrl` — the address users reach the cluster at (the load balancer), e.g.
 *   `"https://app.example.com"`. When set, discovery answers it, the browser client connects
 *   there, download redirects point there and the load balancer configs take its host as their
 *   server name. Stored as the URL's origin (scheme, host, port when not the default).
 * - `trustedProxies` — addresses (IPs or CIDR ranges) of the load balancers. Only a request whose
 *   socket peer is one of them has its `X-Forwarded-Proto` / `X-Forwarded-Host` /
 *   `X-Forwarded-For` believed; from anyone else those headers are ignored (a client can send any
 *   header it likes).
 */
import { BlockList, isIP } from 'node:net';

export interface EdgeConfig {
  publicUrl?: string;
  trustedProxies?: string[];
}

/** Reads `publicUrl`; returns its origin (no path, query or fragment), undefined when absent or bad. */
export function readPublicUrl(value: unknown, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  const hint = 'must be the absolute http:// or https:// URL users open, without a path (e.g. "https://app.example.com")';
  if (typeof value !== 'string') {
    problems.push(`publicUrl: ${hint}, got ${JSON.stringify(value)}`);
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`publicUrl: ${hint}, got ${JSON.stringify(value)}`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`publicUrl: ${hint}; the scheme is ${url.protocol}`);
  else if (url.username || url.password) problems.push('publicUrl: must not carry a user name or password');
  else if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) problems.push(`publicUrl: ${hint}; remove ${JSON.stringify(url.pathname + url.search + url.hash)} (boxwire's paths start at the root)`);
  else return url.origin;
  return undefined;
}

/** Reads `trustedProxies`: an array of IP addresses or CIDR ranges (`"10.0.0.0/24"`, `"::1"`). */
export function readTrustedProxies(value: unknown, problems: string[]): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    problems.push('trustedProxies: must be an array of IP addresses or CIDR ranges of the load balancers, e.g. ["10.0.0.10", "10.0.1.0/24"]');
    return undefined;
  }
  const out: string[] = [];
  value.forEach((entry, i) => {
    if (typeof entry !== 'string' || !parseAddressRange(entry)) problems.push(`trustedProxies[${i}]: must be an IP address or a CIDR range (a.b.c.d/n, ipv6/n), got ${JSON.stringify(entry)}`);
    else out.push(entry);
  });
  return out;
}

interface AddressRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

function parseAddressRange(text: string): AddressRange | undefined {
  const [address, bits, extra] = text.split('/');
  if (extra !== undefined || !address) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A matcher for socket peer addresses (IPv4-mapped IPv6 peers match their IPv4 form). */
export function proxyMatcher(ranges: readonly string[] | undefined): (peer: string | undefined) => boolean {
  if (!ranges || ranges.length === 0) return () => false;
  const list = new BlockList();
  for (const text of ranges) {
    const range = parseAddressRange(text);
    if (range) list.addSubnet(range.address, range.prefix, range.family);
  }
  return (peer) => {
    if (!peer) return false;
    const plain = peer.startsWith('::ffff:') && isIP(peer.slice(7)) === 4 ? peer.slice(7) : peer;
    const version = isIP(plain);
    return version !== 0 && list.check(plain, version === 4 ? 'ipv4' : 'ipv6');
  };
}
