/**
 * SERVER_CLUSTERING options: validation and normalization. Every problem is a ConfigError with
 * one line saying what to fix; `fingerprint` lets a master check that all its workers were
 * started with the same options.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.js';
import { isLoopback } from '../core/host.js';
import { log } from '../core/logger.js';
import { DEFAULT_OUTBOX_BYTES, DEFAULT_OUTBOX_MESSAGES } from '../core/outbox.js';

export interface TlsOptions {
  /** PEM text or a path to a PEM file: this server's certificate (also presented when dialing). */
  cert: string;
  key: string;
  /** The CA every peer's certificate must be signed by. */
  ca: string;
}

export interface ServerClusteringConfig {
  /** `{ serverName: 'host' | 'host:port' }` — where each server is reached. */
  hosts: Record<string, string>;
  thisServerName: string;
  /** The one clustering port used by every host entry without its own port. */
  port: number;
  /** Shared secret proving cluster membership (or env BOXWIRE_CLUSTER_KEY). */
  clusterKey?: string;
  tls?: TlsOptions;
  /** Where this server binds, when not its own host entry (containers, NAT, test proxies). */
  listen?: string;
  /** Largest WebSocket frame accepted or sent (default 16 MiB). */
  maxFrameBytes?: number;
  /** Bounds of each peer's outbox while it is down (default 100 000 messages / 64 MiB). */
  outbox?: { maxMessages?: number; maxBytes?: number };
  heartbeatIntervalMs?: number;
  /** A link silent for this long is closed and its server declared down (default 4000 ms). */
  deadAfterMs?: number;
  /** Warn when a peer's clock is further off than this (default 500 ms). */
  clockSkewWarnMs?: number;
  /** Time allowed for the authentication handshake, counted from the TCP accept (default 5000 ms). */
  handshakeTimeoutMs?: number;
  /** Connections still authenticating, in all (default 128) and per remote address (default 8); more are closed at once. */
  maxUnauthenticated?: number;
  maxUnauthenticatedPerAddress?: number;
  /** Bytes a connection may send before it authenticated (default 64 KiB; the handshake needs a few hundred). */
  preAuthMaxBytes?: number;
}

export interface Address {
  host: string;
  port: number;
}

export interface NormalizedServerConfig {
  thisServerName: string;
  port: number;
  /** Every server including this one, name → dial address. */
  hosts: Map<string, Address>;
  listen: Address;
  key: Buffer;
  authenticated: boolean;
  tls?: { cert: string; key: string; ca: string };
  maxFrameBytes: number;
  outbox: { maxMessages: number; maxBytes: number };
  heartbeatIntervalMs: number;
  deadAfterMs: number;
  clockSkewWarnMs: number;
  handshakeTimeoutMs: number;
  maxUnauthenticated: number;
  maxUnauthenticatedPerAddress: number;
  preAuthMaxBytes: number;
  /** Canonical text of the options as given (minus secrets) used to compare workers' configs. */
  fingerprint: string;
}

export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function validateServerConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): NormalizedServerConfig {
  const fail = (message: string): never => {
    throw new ConfigError(`SERVER_CLUSTERING: ${message}`);
  };
  if (typeof raw !== 'object' || raw === null) fail('options must be an object { hosts, thisServerName, port }');
  const options = raw as ServerClusteringConfig;
  const port = options.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`port must be an integer from 1 to 65535 (got ${JSON.stringify(port)})`);
  if (typeof options.hosts !== 'object' || options.hosts === null || Array.isArray(options.hosts) || Object.keys(options.hosts).length === 0) {
    fail("hosts must be an object naming every server, e.g. { serverA: '10.0.0.1', serverB: '10.0.0.2:8125' }");
  }
  const hosts = new Map<string, Address>();
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(options.hosts)) {
    if (!NAME.test(name)) fail(`server name '${name}' must be 1-64 letters, digits, '.', '_' or '-'`);
    if (typeof value !== 'string' || value.trim() === '') fail(`hosts.${name} must be 'host' or 'host:port' (got ${JSON.stringify(value)})`);
    const address = parseHostPort(value, port, `hosts.${name}`);
    const key = `${address.host.toLowerCase() === 'localhost' ? '127.0.0.1' : address.host.toLowerCase()}:${address.port}`;
    const clash = seen.get(key);
    if (clash) fail(`hosts.${clash} and hosts.${name} are both ${key}: every server needs its own host:port`);
    seen.set(key, name);
    hosts.set(name, address);
  }
  if (typeof options.thisServerName !== 'string' || !hosts.has(options.thisServerName)) {
    fail(`thisServerName ${JSON.stringify(options.thisServerName)} is not in hosts (known: ${[...hosts.keys()].join(', ')})`);
  }
  const listen = options.listen === undefined ? hosts.get(options.thisServerName)! : parseHostPort(options.listen, port, 'listen');
  const clusterKey = options.clusterKey ?? (env.BOXWIRE_CLUSTER_KEY || undefined);
  if (clusterKey !== undefined && (typeof clusterKey !== 'string' || clusterKey.length < 16)) {
    fail('clusterKey (or BOXWIRE_CLUSTER_KEY) must be a string of at least 16 characters; generate one with `openssl rand -hex 32`');
  }
  const everyLoopback = [...hosts.values(), listen].every((a) => isLoopback(a.host));
  if (!clusterKey && !everyLoopback) {
    fail('refusing to listen on a non-loopback address without a cluster key: set clusterKey or BOXWIRE_CLUSTER_KEY (e.g. `openssl rand -hex 32`) on every server');
  }
  const positive = (value: number | undefined, fallback: number, what: string): number => {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value <= 0) fail(`${what} must be a positive number (got ${JSON.stringify(value)})`);
    return value;
  };
  const heartbeatIntervalMs = positive(options.heartbeatIntervalMs, 1000, 'heartbeatIntervalMs');
  const deadAfterMs = positive(options.deadAfterMs, 4000, 'deadAfterMs');
  if (deadAfterMs < 2 * heartbeatIntervalMs) fail(`deadAfterMs (${deadAfterMs}) must be at least twice heartbeatIntervalMs (${heartbeatIntervalMs})`);
  const maxFrameBytes = positive(options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 'maxFrameBytes');
  if (maxFrameBytes < 4096) fail(`maxFrameBytes must be at least 4096 (got ${maxFrameBytes})`);
  const config: NormalizedServerConfig = {
    thisServerName: options.thisServerName,
    port,
    hosts,
    listen,
    key: Buffer.from(clusterKey ?? '', 'utf8'),
    authenticated: Boolean(clusterKey),
    tls: options.tls === undefined ? undefined : loadTls(options.tls, fail),
    maxFrameBytes,
    outbox: {
      maxMessages: positive(options.outbox?.maxMessages, DEFAULT_OUTBOX_MESSAGES, 'outbox.maxMessages'),
      maxBytes: positive(options.outbox?.maxBytes, DEFAULT_OUTBOX_BYTES, 'outbox.maxBytes'),
    },
    heartbeatIntervalMs,
    deadAfterMs,
    clockSkewWarnMs: positive(options.clockSkewWarnMs, 500, 'clockSkewWarnMs'),
    handshakeTimeoutMs: positive(options.handshakeTimeoutMs, 5000, 'handshakeTimeoutMs'),
    maxUnauthenticated: positive(options.maxUnauthenticated, 128, 'maxUnauthenticated'),
    maxUnauthenticatedPerAddress: positive(options.maxUnauthenticatedPerAddress, 8, 'maxUnauthenticatedPerAddress'),
    preAuthMaxBytes: positive(options.preAuthMaxBytes, 64 * 1024, 'preAuthMaxBytes'),
    fingerprint: '',
  };
  config.fingerprint = fingerprintOf(options, config);
  return config;
}

/** Logged once per process that starts links without a key (only allowed on loopback). */
export function warnIfUnauthenticated(config: NormalizedServerConfig): void {
  if (!config.authenticated) {
    log.warn('server.unauthenticated', { note: 'no clusterKey: every host is loopback, so links are not authenticated; set clusterKey or BOXWIRE_CLUSTER_KEY before using other addresses' });
  }
}

function parseHostPort(value: string, defaultPort: number, what: string): Address {
  const text = value.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let host: string;
  let portText: string | undefined;
  if (bracketed) [, host, portText] = bracketed;
  else if ((text.match(/:/g) ?? []).length === 1) [host, portText] = text.split(':');
  else host = text; // a bare name, IPv4 address or unbracketed IPv6 address
  if (!host || /[\s/]/.test(host)) throw new ConfigError(`SERVER_CLUSTERING: ${what} must be 'host' or 'host:port' (got ${JSON.stringify(value)})`);
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`SERVER_CLUSTERING: ${what} has port ${portText}, which is not from 1 to 65535`);
  return { host, port };
}

function loadTls(tls: TlsOptions, fail: (message: string) => never): { cert: string; key: string; ca: string } {
  const read = (field: 'cert' | 'key' | 'ca'): string => {
    const value = tls?.[field];
    if (typeof value !== 'string' || value === '') return fail(`tls.${field} must be PEM text or the path of a PEM file`);
    if (value.includes('-----BEGIN')) return value;
    try {
      return readFileSync(value, 'utf8');
    } catch (error) {
      return fail(`tls.${field}: cannot read ${value} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  };
  return { cert: read('cert'), key: read('key'), ca: read('ca') };
}

/** Key-free canonical form: configs of one server's workers must agree on everything else. */
function fingerprintOf(options: ServerClusteringConfig, config: NormalizedServerConfig): string {
  const hosts = Object.fromEntries([...config.hosts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, a]) => [n, `${a.host}:${a.port}`]));
  const keyDigest = config.authenticated ? createHash('sha256').update(config.key).digest('hex').slice(0, 16) : 'no-key';
  return JSON.stringify({
    hosts, thisServerName: config.thisServerName, port: config.port, listen: `${config.listen.host}:${config.listen.port}`,
    key: keyDigest, tls: Boolean(options.tls), maxFrameBytes: config.maxFrameBytes,
  });
}
