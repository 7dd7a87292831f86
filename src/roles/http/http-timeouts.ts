/**
 * Deadlines of a server's HTTP port, sized for an API server. Node's defaults keep a half-sent
 * request for a minute (headers) or five (body), checked only every 30 s: a client trickling
 * bytes holds a socket and its buffers that long. Env overrides per server (milliseconds).
 */
import type http from 'node:http';
import { positiveFromEnv } from '../api/api-limits.js';

export interface HttpTimeouts {
  /** The request line and headers must arrive within this (BOXWIRE_HTTP_HEADERS_TIMEOUT_MS). */
  headersMs: number;
  /** A whole request, body included (BOXWIRE_HTTP_REQUEST_TIMEOUT_MS); 408 after it. */
  requestMs: number;
  /** Same on servers with the upload role, where bodies are files (BOXWIRE_HTTP_UPLOAD_TIMEOUT_MS). */
  uploadRequestMs: number;
  /** A connection with no byte in either direction for this long is closed (BOXWIRE_HTTP_IDLE_TIMEOUT_MS). */
  idleMs: number;
  /**
   * An idle keep-alive connection is kept this long: longer than a load balancer's own idle
   * timeout (nginx's upstream keepalive_timeout is 60 s), so the balancer never reuses a
   * connection the server is closing (BOXWIRE_HTTP_KEEPALIVE_MS).
   */
  keepAliveMs: number;
}

export function httpTimeoutsFromEnv(env: NodeJS.ProcessEnv = process.env): HttpTimeouts {
  const ms = (name: string, fallback: number) => positiveFromEnv(env, name, fallback);
  return {
    headersMs: ms('BOXWIRE_HTTP_HEADERS_TIMEOUT_MS', 10_000),
    requestMs: ms('BOXWIRE_HTTP_REQUEST_TIMEOUT_MS', 30_000),
    uploadRequestMs: ms('BOXWIRE_HTTP_UPLOAD_TIMEOUT_MS', 30 * 60_000),
    idleMs: ms('BOXWIRE_HTTP_IDLE_TIMEOUT_MS', 30_000),
    keepAliveMs: ms('BOXWIRE_HTTP_KEEPALIVE_MS', 65_000),
  };
}

/** Server options for http.createServer; `uploads` when this server takes file uploads. */
export function httpServerOptions(timeouts: HttpTimeouts, uploads: boolean): http.ServerOptions {
  const requestTimeout = uploads ? Math.max(timeouts.requestMs, timeouts.uploadRequestMs) : timeouts.requestMs;
  return {
    keepAliveTimeout: timeouts.keepAliveMs,
    headersTimeout: Math.min(timeouts.headersMs, requestTimeout),
    requestTimeout,
    // Node checks both deadlines on this interval (default 30 s, which would make them late by up to that).
    connectionsCheckingInterval: Math.min(1000, timeouts.headersMs),
  };
}

/** The idle timeout; WebSockets are exempt (`ws` clears the socket timeout on upgrade, heartbeats keep them alive). */
export function applyIdleTimeout(server: http.Server, timeouts: HttpTimeouts): void {
  server.timeout = timeouts.idleMs;
}
