/**
 * What both load balancer generators need from the cluster config: for each role, the servers
 * that hold it, and which request paths belong to which role. One table, so nginx and HAProxy
 * route exactly the same way.
 */
import { formatHost, ROLES, type ClusterConfig, type Role } from '../../src/boot/config.js';
import { OpsError } from '../errors.js';

export interface Upstream {
  role: Role;
  /** A name usable in both nginx and HAProxy configs. */
  name: string;
  servers: Array<{ name: string; address: string }>;
}

/** Path prefixes per role; everything else goes to the front door. */
export const API_PATHS = ['/__API', '/__SOCKET'];
export const UPLOAD_PATHS = ['/__UPLOAD', '/__RF/'];
export const HEALTH_PATH = '/__CHECK_ALIVE';

export interface LbOptions {
  /** Keep each client on one backend (nginx ip_hash, HAProxy balance source). */
  sticky?: boolean;
  /** Address the load balancer listens on; default `80` (all interfaces). */
  listen?: string;
}

export function upstreamsFor(config: ClusterConfig): Record<Role, Upstream> {
  const byRole = {} as Record<Role, Upstream>;
  for (const role of ROLES) {
    const servers = Object.values(config.servers)
      .filter((s) => s.roles.includes(role))
      .map((s) => ({ name: s.name, address: `${formatHost(s.host)}:${s.webPort}` }));
    if (servers.length === 0) throw new OpsError(`no server holds the '${role}' role; the load balancer needs at least one (add it to a server's roles, or leave roles out to hold all)`);
    byRole[role] = { role, name: `boxwire_${role.replace('-', '_')}`, servers };
  }
  return byRole;
}

export function uploadLimitBytes(config: ClusterConfig): number {
  return Math.ceil(config.maxUploadFileMB * 1024 * 1024);
}
