/**
 * The API role: box methods over WebSocket (`/__API`, see api-connection.ts) and over HTTP
 * (`POST /__API/<box>/<method>`, JSON or msgpack body, reply in the same format), rooms, and
 * the browser client module.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ApiError, toApiError } from './api-errors.js';
import { callMethod, ClientSession } from './api-calls.js';
import { ApiConnection, clientPackr } from './api-connection.js';
import type { ApiLimits } from './api-limits.js';
import { BodyTooLarge, readBody, sendJson } from './http-reply.js';
import { KeyedBuckets } from './rate-limit.js';
import { nextClientId } from './client-id.js';
import { wireRooms } from './rooms.js';

export const API_PATH = '/__API';

export class ApiRole {
  private readonly wss: WebSocketServer;
  private readonly httpBuckets: KeyedBuckets;

  constructor(private readonly limits: ApiLimits) {
    wireRooms();
    this.httpBuckets = new KeyedBuckets(limits.callsPerSecond, limits.burst);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes, perMessageDeflate: false });
    this.wss.on('connection', (socket, request) => new ApiConnection(socket, request, limits));
  }

  /** Takes WebSocket upgrades to `/__API`; returns false for other paths. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean {
    if (url.pathname !== API_PATH && url.pathname !== `${API_PATH}/`) return false;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
    return true;
  }

  /** `POST /__API/<box>/<method>`; returns false for other requests. */
  handleRequest(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (!url.pathname.startsWith(`${API_PATH}/`)) return false;
    void this.httpCall(req, res, url);
    return true;
  }

  private async httpCall(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const msgpack = /msgpack/i.test(req.headers['content-type'] ?? '') || /msgpack/i.test(String(req.headers.accept ?? ''));
    const answer = (status: number, value: unknown) => {
      if (!msgpack) return sendJson(res, status, value);
      const body = clientPackr.pack(value);
      res.writeHead(status, { 'Content-Type': 'application/msgpack', 'Content-Length': body.length, 'Cache-Control': 'no-store' }).end(body);
    };
    try {
      if (req.method !== 'POST') throw new ApiError(405, 'METHOD_NOT_ALLOWED', `call box methods with POST ${API_PATH}/<box>/<method>`);
      const [boxName, method, ...rest] = url.pathname.slice(API_PATH.length + 1).split('/').map(safeDecode);
      if (!boxName || !method || rest.length > 0) throw new ApiError(404, 'UNKNOWN_METHOD', `the path is ${API_PATH}/<box>/<method>`);
      if (!this.httpBuckets.take(req.socket.remoteAddress ?? '')) throw new ApiError(429, 'RATE_LIMITED', `more than ${this.limits.callsPerSecond} calls per second from this address; slow down`);
      const data = await this.readData(req, msgpack);
      const session = new ClientSession(
        { id: nextClientId(), transport: 'http', remoteAddress: req.socket.remoteAddress ?? '', headers: req.headers, query: Object.fromEntries(url.searchParams) },
        () => Promise.reject(new ApiError(400, 'NOT_SUPPORTED', 'HTTP callers cannot join rooms; use the WebSocket API')),
        () => undefined,
      );
      const result = await callMethod(session, boxName, method, data);
      answer(200, { result: result === undefined ? null : result });
    } catch (error) {
      const wire = toApiError(error);
      answer(wire.status, { error: wire });
    }
  }

  private async readData(req: IncomingMessage, msgpack: boolean): Promise<unknown> {
    let body: Buffer;
    try {
      body = await readBody(req, this.limits.maxMessageBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) throw new ApiError(413, 'TOO_LARGE', `the request body is larger than ${this.limits.maxMessageBytes} bytes`);
      throw error;
    }
    if (body.length === 0) return null;
    try {
      return msgpack ? clientPackr.unpack(body) : JSON.parse(body.toString('utf8'));
    } catch {
      throw new ApiError(400, 'BAD_MESSAGE', `the body is not valid ${msgpack ? 'msgpack' : 'JSON'}`);
    }
  }

  close(): void {
    for (const client of this.wss.clients) client.close(1001, 'server stopping');
    this.wss.close();
  }
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return '';
  }
}
