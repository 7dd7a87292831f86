/**
 * The HTTP server of one worker: every worker of a server listens on the same `host:webPort`
 * (node:cluster shares the socket), and requests go to the roles this server holds. Health,
 * downloads and the browser client are served by every server.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServerConfig } from '../boot/config.js';
import { log } from '../core/logger.js';
import type { ApiRole } from './api-role.js';
import type { Download } from './download.js';
import type { FrontDoor } from './front-door.js';
import { readClientAsset } from './client-assets.js';
import { handleHealth } from './health.js';
import { applyIdleTimeout, httpServerOptions, httpTimeoutsFromEnv } from './http-timeouts.js';
import { allowCors, answerPreflight, parseRequestUrl, sendError, sendText } from './http-reply.js';
import type { UploadRole } from './upload-role.js';

export const CLIENT_PATH = '/__boxwire/client.js';
const clientModule = readClientAsset('boxwire-client.js');

export interface WebRoles {
  frontDoor?: FrontDoor;
  api?: ApiRole;
  upload?: UploadRole;
  download: Download;
}

export class WebServer {
  readonly server: http.Server;

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

  /** Stops accepting, closes WebSockets (1001) and idle keep-alive connections; resolves when in-flight requests are answered. */
  close(): Promise<void> {
    this.roles.api?.close();
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
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
