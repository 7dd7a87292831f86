/**
 * The HTTP server of one worker: every worker of a server listens on the same `host:webPort`
 * (node:cluster shares the socket), and requests go to the roles this server holds. Health,
 * downloads and the browser client are served by every server.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServerConfig } from '../../config/index.js';
import { log } from '../../core/logger.js';
import type { ApiRole } from '../api/api-role.js';
import type { Download } from '../files/download.js';
import type { FrontDoor } from '../cluster/front-door.js';
import { readClientAsset } from '../api/client-assets.js';
import { handleHealth } from '../cluster/health.js';
import { closeGracefully } from '../../cpu/http-drain.js';
import { applyIdleTimeout, httpServerOptions, httpTimeoutsFromEnv } from './http-timeouts.js';
import { allowCors, answerPreflight, parseRequestUrl, sendError, sendText } from './http-reply.js';
import { isReady } from '../cluster/readiness.js';
import { METRICS_PATH, handleMetrics } from '../../metrics/metrics-endpoint.js';
import type { UploadRole } from '../files/upload-role.js';

export const CLIENT_PATH = '/__boxwire/client.js';

function idleCloseMs(): number {
  const value = Number(process.env.BOXWIRE_HTTP_IDLE_CLOSE_MS);
  return Number.isFinite(value) && value >= 0 ? value : 1500;
}
const clientModule = readClientAsset('boxwire-client.js');

export interface WebRoles {
  frontDoor?: FrontDoor;
  api?: ApiRole;
  upload?: UploadRole;
  download: Download;
}

export class WebServer {
  readonly server: http.Server;
  private closing = false;

  constructor(private readonly config: ServerConfig, private readonly roles: WebRoles) {
    const timeouts = httpTimeoutsFromEnv();
    this.server = http.createServer(httpServerOptions(timeouts, Boolean(roles.upload)), (req, res) => this.onRequest(req, res));
    applyIdleTimeout(this.server, timeouts);
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.webPort, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /**
   * Stops accepting and closes WebSockets (1001); resolves once every connection is closed. Open
   * keep-alive connections are not dropped at once: a proxy may be sending a request on one at
   * that very moment, and would answer its client 502 (nginx does not retry a POST). Every answer
   * from now on closes its connection, idle ones are left for the peer to close (the generated
   * nginx config closes idle upstream connections after 1 s), and whatever is still idle after
   * BOXWIRE_HTTP_IDLE_CLOSE_MS (default 1500) is closed then.
   */
  close(): Promise<void> {
    this.closing = true;
    this.roles.api?.close();
    return closeGracefully(this.server, idleCloseMs());
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    // Draining or stopping: answer, then close, so no load balancer keeps an idle connection here.
    if (this.closing || !isReady()) res.shouldKeepAlive = false;
    // The API's HTTP calls are the hot path: routed before any URL parsing or promise (its
    // answers carry their own CORS header).
    if (this.roles.api && req.method === 'POST' && this.roles.api.handleRequest(req, res, req.url ?? '/')) return;
    // Pages on the front door call API and upload servers on other origins.
    allowCors(res);
    void this.route(req, res);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = parseRequestUrl(req.url);
    if (!url) return sendError(res, 400, 'BAD_URL', 'the request URL is malformed');
    if (answerPreflight(req, res)) return;
    try {
      if (handleHealth(req, res, url, this.config.name)) return;
      if (url.pathname === METRICS_PATH) return handleMetrics(req, res);
      if (url.pathname === CLIENT_PATH && (this.roles.frontDoor || this.roles.api)) {
        return sendText(res, 200, clientModule, 'text/javascript; charset=utf-8');
      }
      if (this.roles.download.handleRequest(req, res, url)) return;
      if (this.roles.api?.handleRequest(req, res, req.url ?? '/')) return;
      if (this.roles.upload?.handleRequest(req, res, url)) return;
      if (this.roles.frontDoor && (await this.roles.frontDoor.handleRequest(req, res, url))) return;
      sendError(res, 404, 'NOT_FOUND', `nothing at ${url.pathname} on ${this.config.name} (roles: ${this.config.roles.join(', ')})`);
    } catch (error) {
      log.error('http.failed', { path: url.pathname, error });
      sendError(res, 500, 'INTERNAL', 'the server failed to answer; see its log');
    }
  }

  /** An upgrade runs outside any request handler's try: nothing here may throw. */
  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = parseRequestUrl(req.url);
    if (!url) return void socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    try {
      if (this.roles.api?.handleUpgrade(req, socket, head, url)) return;
    } catch (error) {
      log.warn('http.upgrade_failed', { path: url.pathname, error });
      return void socket.destroy();
    }
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  }
}
