/**
 * The `servers` section: each server's host, web port, roles, data folder and worker count, and
 * the check across servers — every server binds its webPort and the shared clusteringPort on its
 * host, so no two may collide.
 */
import { canonicalHost } from '../core/host.js';
import { isPlainObject } from '../core/value-kinds.js';
import { checkUnknownKeys, isCommentKey, NAME, readHost, readOptionalString, readPort, show, toNumber } from './readers.js';
import { ROLES, type Role, type ServerConfig } from './types.js';

const SERVER_KEYS = ['host', 'webPort', 'roles', 'dataDir', 'workers'];

export function readServers(value: unknown, clusteringPort: number | undefined, problems: string[]): Record<string, ServerConfig> {
  const servers: Record<string, ServerConfig> = {};
  if (!isPlainObject(value) || Object.keys(value).filter((k) => !isCommentKey(k)).length === 0) {
    problems.push('servers: must name at least one server: { "name": { "host": "…", "webPort": 8080 } }');
    return servers;
  }
  for (const [name, entry] of Object.entries(value)) {
    if (isCommentKey(name)) continue;
    const server = readServer(name, entry, problems);
    if (server) servers[name] = server;
  }
  checkServerClashes(Object.values(servers), clusteringPort, problems);
  return servers;
}

function readServer(name: string, value: unknown, problems: string[]): ServerConfig | undefined {
  const key = `servers.${name}`;
  if (!NAME.test(name)) problems.push(`${key}: server names use letters, digits, _ and -, starting with a letter`);
  if (!isPlainObject(value)) {
    problems.push(`${key}: must be an object with host and webPort`);
    return undefined;
  }
  checkUnknownKeys(value, key, SERVER_KEYS, problems);
  const host = readHost(value.host, `${key}.host`, problems);
  const webPort = readPort(value.webPort, `${key}.webPort`, problems, true);
  const server: ServerConfig = { name, host: host ?? '', webPort: webPort ?? 0, roles: readRoles(value.roles, `${key}.roles`, problems) };
  const dataDir = readOptionalString(value.dataDir, `${key}.dataDir`, problems);
  if (dataDir !== undefined) server.dataDir = dataDir;
  if (value.workers !== undefined) {
    const workers = toNumber(value.workers);
    if (workers === undefined || !Number.isInteger(workers) || workers < 0) problems.push(`${key}.workers: must be a whole number ≥ 0 (0 runs the work in the started process), got ${show(value.workers)}`);
    else server.workers = workers;
  }
  return host !== undefined && webPort !== undefined ? server : undefined;
}

function readRoles(value: unknown, key: string, problems: string[]): Role[] {
  if (value === undefined) return [...ROLES];
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`${key}: must be a non-empty array of ${ROLES.map((r) => `'${r}'`).join(', ')} (leave it out to hold every role)`);
    return [...ROLES];
  }
  const roles: Role[] = [];
  value.forEach((role, i) => {
    if (!ROLES.includes(role as Role)) problems.push(`${key}[${i}]: unknown role ${show(role)} (one of ${ROLES.join(', ')})`);
    else if (roles.includes(role as Role)) problems.push(`${key}[${i}]: '${role}' is listed twice`);
    else roles.push(role as Role);
  });
  return roles;
}

/** Every server binds webPort and the shared clusteringPort on its host: no two may collide. */
function checkServerClashes(servers: ServerConfig[], clusteringPort: number | undefined, problems: string[]): void {
  const taken = new Map<string, string>();
  const claim = (host: string, port: number, what: string) => {
    const id = `${canonicalHost(host)}:${port}`;
    const owner = taken.get(id);
    if (owner) problems.push(`${what}: ${host}:${port} is already used by ${owner}`);
    else taken.set(id, what);
  };
  for (const server of servers) {
    claim(server.host, server.webPort, `servers.${server.name}.webPort`);
    if (clusteringPort !== undefined) claim(server.host, clusteringPort, `servers.${server.name} (clusteringPort)`);
  }
}
