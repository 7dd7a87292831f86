/**
 * The address a client reached this cluster at, for the URLs servers hand out (discovery
 * answers, download redirects):
 *
 * 1. the config's `publicUrl`, when set — fixed by the operator, nothing a client sends changes it;
 * 2. else, for a request whose socket peer is one of `trustedProxies`, the load balancer's
 *    `X-Forwarded-Proto` and `X-Forwarded-Host` (the generated nginx/HAProxy configs set both,
 *    overwriting whatever the client sent);
 * 3. else none: the server answers its own internal address, as UPPERCASE did.
 *
 * Forwarded headers from anyone else are ignored: a client talking to a server directly could
 * otherwise make it hand out (or redirect to) a host of the client's choosing, which a shared
 * cache would then serve to others. The client address for rate limits follows the same rule
 * (`X-Forwarded-For`, read right to left, skipping trusted proxies).
 */
import type { IncomingMessage } from 'node:http';
import { proxyMatcher } from '../../config/index.js';

export interface PublicOrigin {
  protocol: 'http' | 'https';
  /** `host[:port]`, as a browser puts it in a URL. */
  host: string;
}

interface EdgeSettings {
  publicUrl?: PublicOrigin;
  trusted: (peer: string | undefined) => boolean;
}

let edge: EdgeSettings = { trusted: () => false };

export function configureEdge(config: { publicUrl?: string; trustedProxies?: string[] }): void {
  const url = config.publicUrl ? new URL(config.publicUrl) : undefined;
  edge = {
    publicUrl: url ? { protocol: url.protocol === 'https:' ? 'https' : 'http', host: url.host } : undefined,
    trusted: proxyMatcher(config.trustedProxies),
  };
}

/** The configured public address, if any. */
export function configuredPublicOrigin(): PublicOrigin | undefined {
  return edge.publicUrl;
}

/** A host name, IPv4, or bracketed IPv6, with an optional port: nothing that could break a URL or a header. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

function firstValue(header: string | string[] | undefined): string | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  return text?.split(',')[0]?.trim() || undefined;
}

/** Where this request's client reached the cluster (see the rules above), or undefined. */
export function publicOriginOf(req: IncomingMessage): PublicOrigin | undefined {
  if (edge.publicUrl) return edge.publicUrl;
  if (!edge.trusted(req.socket.remoteAddress)) return undefined;
  const host = firstValue(req.headers['x-forwarded-host']);
  if (!host || host.length > 255 || !HOST.test(host)) return undefined;
  const proto = firstValue(req.headers['x-forwarded-proto'])?.toLowerCase();
  return { protocol: proto === 'https' ? 'https' : 'http', host };
}

/** The client's address: the socket peer, or behind trusted proxies the last untrusted hop of X-Forwarded-For. */
export function clientAddressOf(req: IncomingMessage): string {
  const peer = req.socket.remoteAddress ?? '';
  if (!edge.trusted(peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!edge.trusted(hops[i])) return hops[i].slice(0, 64);
  }
  return hops[0]?.slice(0, 64) ?? peer;
}
