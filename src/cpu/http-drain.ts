/**
 * Graceful end of this process's HTTP servers, without failing a request a client is sending.
 *
 * node:cluster's `worker.disconnect()` closes every listening server with `http.Server.close()`,
 * which (Node ≥ 19) also destroys every connection that has no request in progress at that instant:
 * idle keep-alive connections a client may be reusing right now, and connections the primary just
 * handed to this worker whose first request has not been parsed yet. The client gets ECONNRESET
 * (a rolling restart under keep-alive load failed requests on Node 20 and 26 alike). Instead, a
 * stopping process:
 *   1. stops accepting (the listening handle closes; connections the primary hands over from
 *      then on go back to it for another worker);
 *   2. answers every request from now on with `Connection: close` and closes the connection after
 *      the response, so each client learns in band that the connection ends;
 *   3. closes what is still idle only after the server's keep-alive time (at most 5 s, or
 *      BOXWIRE_HTTP_IDLE_CLOSE_MS): a connection idle that long would have been closed by Node
 *      anyway, and clients that read the `Keep-Alive: timeout` hint stop using it before then.
 * Servers are found through `diagnostics_channel` (when they listen, or by their first
 * connection); one that starts listening while the process stops is closed the same way.
 */
import dc from 'node:diagnostics_channel';
import type http from 'node:http';
import net from 'node:net';

/** The longest a drain waits for idle connections to go away on their own. */
const MAX_IDLE_WAIT_MS = 5_000;

/** http.Server and https.Server both have closeIdleConnections; other servers are left to node:cluster. */
type HttpLikeServer = net.Server & Pick<http.Server, 'closeIdleConnections' | 'keepAliveTimeout'>;

const servers = new Set<HttpLikeServer>();
let tracking = false;
/** While a drain runs: the closes it awaits (a server that starts listening meanwhile joins). */
let closing: Promise<void>[] | undefined;

function isHttpServer(server: unknown): server is HttpLikeServer {
  return server instanceof net.Server && typeof (server as Partial<http.Server>).closeIdleConnections === 'function';
}

function noteServer(server: unknown): void {
  if (!isHttpServer(server) || servers.has(server)) return;
  servers.add(server);
  server.once('close', () => servers.delete(server));
  closing?.push(closeGracefully(server, idleWaitMs(server)));
}

/** Starts noting this process's HTTP servers (call before user code creates any). Idempotent. */
export function trackHttpServers(): void {
  if (tracking) return;
  tracking = true;
  dc.subscribe('tracing:net.server.listen:asyncEnd', (message) => noteServer((message as { server?: unknown }).server));
  // Also by their connections: a server whose listen was not seen (it listened before tracking began).
  dc.subscribe('net.server.socket', (message) => noteServer((message as { socket?: { server?: unknown } }).socket?.server));
}

/** From now on every HTTP response of this process closes its connection (the process is stopping). */
let answeringWithClose = false;
function answerWithClose(): void {
  if (answeringWithClose) return;
  answeringWithClose = true;
  dc.subscribe('http.server.request.start', (message) => {
    (message as { response: http.ServerResponse }).response.shouldKeepAlive = false;
  });
}

/** How long a stopping server leaves idle connections to their clients. */
export function idleWaitMs(server: { keepAliveTimeout: number }, env: NodeJS.ProcessEnv = process.env): number {
  const configured = Number(env.BOXWIRE_HTTP_IDLE_CLOSE_MS);
  if (env.BOXWIRE_HTTP_IDLE_CLOSE_MS !== undefined && Number.isFinite(configured) && configured >= 0) return configured;
  return Math.min(server.keepAliveTimeout > 0 ? server.keepAliveTimeout : MAX_IDLE_WAIT_MS, MAX_IDLE_WAIT_MS);
}

/**
 * Stops accepting on `server` and resolves once its last connection closed. Idle connections are
 * not dropped at once (a request may be on its way on one); those still idle after `idleMs` are.
 * The caller makes responses close their connections (`res.shouldKeepAlive = false`).
 */
export function closeGracefully(server: HttpLikeServer, idleMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeIdleConnections(), idleMs);
    // net.Server's close: http.Server's would also drop idle connections right away.
    net.Server.prototype.close.call(server, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A stopping process: every tracked HTTP server stops accepting and its connections end gracefully. */
export async function drainHttpServers(): Promise<void> {
  answerWithClose();
  closing ??= [...servers].map((server) => closeGracefully(server, idleWaitMs(server)));
  for (let done = 0; done < closing.length; done = closing.length) await Promise.all(closing.slice(done));
}
