/**
 * What both load balancer generators need from the cluster config: for each role, the servers
 * that hold it; for each upload server, a backend of its own (downloads go to the file's owner);
 * the public address; TLS; limits. Routing itself is the table in routes.ts, so nginx and
 * HAProxy route exactly the same way.
 */
import { readFileSync } from 'node:fs';
import { ROLES, type ClusterConfig, type Role } from '../../src/config/index.js';
import { formatHost } from '../../src/core/host.js';
import { OpsError } from '../errors.js';

export interface Upstream {
  role: Role;
  /** A name usable in both nginx and HAProxy configs. */
  name: string;
  servers: Array<{ name: string; address: string }>;
}

/** A single upload server, for the downloads of the files it holds. */
export interface OwnerUpstream {
  server: string;
  name: string;
  address: string;
}

/** The readiness check (503 while starting, draining, stopping) and the liveness check. */
export const READY_PATH = '/__READY';
export const HEALTH_PATH = '/__CHECK_ALIVE';

/** The cluster config keys `boxwire ops lb` reads; nothing else (no cluster key, no MongoDB secrets). */
export const LB_CONFIG_KEYS = ['servers', 'maxUploadFileMB', 'publicUrl'] as const;

export interface TlsFiles {
  /** PEM certificate chain. */
  cert: string;
  /** PEM private key (may be the same file as `cert`). */
  key: string;
}

export interface LbOptions {
  /** Keep each client on one backend (nginx ip_hash, HAProxy balance source). */
  sticky?: boolean;
  /** Address the load balancer listens on for HTTP; default `80` (all interfaces). */
  listen?: string;
  /** Terminate TLS: HTTPS on `tlsListen`, HTTP answers with a redirect to HTTPS. */
  tls?: TlsFiles;
  /** Address for HTTPS; default `443`. */
  tlsListen?: string;
}

/**
 * An upstream per role some server holds. The front door is required (it serves the pages and
 * everything unrouted); a cluster without API or upload servers simply has no such routes.
 */
export function upstreamsFor(config: Pick<ClusterConfig, 'servers'>): Partial<Record<Role, Upstream>> & { 'front-door': Upstream } {
  const byRole: Partial<Record<Role, Upstream>> = {};
  for (const role of ROLES) {
    const servers = Object.values(config.servers)
      .filter((s) => s.roles.includes(role))
      .map((s) => ({ name: s.name, address: formatHost(s.host, s.webPort) }));
    if (servers.length > 0) byRole[role] = { role, name: `boxwire_${role.replace('-', '_')}`, servers };
  }
  if (!byRole['front-door']) throw new OpsError("no server holds the 'front-door' role; the load balancer sends pages and discovery there (add it to a server's roles, or leave roles out to hold all)");
  return byRole as Partial<Record<Role, Upstream>> & { 'front-door': Upstream };
}

/** One backend per upload server: `/__RF/<box>/<owner>.…` goes there. */
export function ownerUpstreams(config: Pick<ClusterConfig, 'servers'>): OwnerUpstream[] {
  return Object.values(config.servers)
    .filter((s) => s.roles.includes('upload'))
    .map((s) => ({ server: s.name, name: `boxwire_file_${s.name.replace(/-/g, '_')}`, address: formatHost(s.host, s.webPort) }));
}

export function uploadLimitBytes(config: Pick<ClusterConfig, 'maxUploadFileMB'>): number {
  return Math.ceil(config.maxUploadFileMB * 1024 * 1024);
}

/** The public host name (no port) for server_name, or undefined without `publicUrl`. */
export function publicHostname(config: Pick<ClusterConfig, 'publicUrl'>): string | undefined {
  return config.publicUrl ? new URL(config.publicUrl).hostname : undefined;
}

/** The port part of a listen address (`80`, `127.0.0.1:8080`, `[::]:443`). */
export function portOf(listen: string): number {
  const match = /(?:^|:)(\d+)$/.exec(listen);
  if (!match) throw new OpsError(`cannot read a port from the listen address '${listen}' (use PORT or HOST:PORT)`);
  return Number(match[1]);
}

/**
 * Where HTTP requests are redirected once TLS is on: the public URL when it is https, else the
 * requested host on the HTTPS port. Returned as a prefix the request URI is appended to.
 */
export function httpsTarget(config: Pick<ClusterConfig, 'publicUrl'>, options: LbOptions, hostExpr: string): string {
  if (config.publicUrl?.startsWith('https:')) return config.publicUrl;
  const port = portOf(options.tlsListen ?? '443');
  return `https://${hostExpr}${port === 443 ? '' : `:${port}`}`;
}

/** The certificate and key must exist and be readable now: a typo should fail here, not at reload. */
export function checkTlsFiles(tls: TlsFiles): void {
  for (const [what, path] of [['--tls-cert', tls.cert], ['--tls-key', tls.key]] as const) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new OpsError(`${what} ${path}: cannot read it (${(error as Error).message})`);
    }
    const wanted = what === '--tls-cert' ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
    if (!wanted.test(text)) throw new OpsError(`${what} ${path}: not a PEM ${what === '--tls-cert' ? 'certificate' : 'private key'}`);
  }
}

/**
 * A connection limit the machine can hold: each proxied connection takes two descriptors (client
 * side and server side), plus a reserve for listeners, health checks and logs. Read from the
 * open-files limit of this process (`ulimit -n`, hard limit: HAProxy raises its own soft limit
 * to what maxconn needs, up to the hard limit), capped at 20,000.
 */
export const MAXCONN_CAP = 20_000;
const FD_RESERVE = 100;

export function maxconnFor(fdLimit: number): number {
  return Math.max(64, Math.min(MAXCONN_CAP, Math.floor((fdLimit - FD_RESERVE) / 2)));
}

/** This process's hard open-files limit (Linux /proc), or undefined when it cannot be read. */
export function openFilesLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const hard = line?.trim().split(/\s+/)[4];
    if (hard === 'unlimited') return Number.POSITIVE_INFINITY;
    const n = Number(hard);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
